"""Where a fuzz run's time goes, stage by stage (``fuzzpass run --profile``).

A worker's time is the sum of its stages: Hypothesis drawing an example (``generate``),
building both variants (``codegen``), drawing data (``data``), the float64 ``ground-truth``,
running kernels (``interpret-compile`` for the first case of a kernel, which traces,
lowers and compiles it; ``interpret-load`` for one read from the compile cache; ``interpret``
for running it; ``interpret-tpu*`` alike for TPU interpret mode, which judges again what the
generic interpreter flags), deviceless TPU compiles
(``tpu-compile``) and the ``gate-audit``. The totals are what to attack next when cases/s
falls; they are wall-clock seconds in one process, summed over workers.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

_seconds: Counter[str] = Counter()


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Count the time spent inside the block to ``name``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        _seconds[name] += time.perf_counter() - start


def add(name: str, seconds: float) -> None:
    _seconds[name] += seconds


def take() -> dict[str, float]:
    """The seconds per stage since the last ``take`` (one case's profile), then start over."""
    taken = {name: round(s, 6) for name, s in _seconds.items()}
    _seconds.clear()
    return taken


def table(totals: Counter[str], cases: int) -> list[str]:
    """The ``--profile`` table: stages by total time, with their share and time per case."""
    whole = sum(totals.values()) or 1.0
    width = max((len(name) for name in totals), default=0) + 2
    rows = [f"{'stage':<{width}} {'seconds':>9} {'share':>6} {'ms/case':>8}"]
    for name, seconds in totals.most_common():
        rows.append(f"{name:<{width}} {seconds:>9.1f} {seconds / whole:>6.0%} {1000 * seconds / max(cases, 1):>8.1f}")
    return rows
