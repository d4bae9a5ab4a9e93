"""What a run is asked to do: its budget and options, as ``fuzzpass run`` parses them."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line parses budgets and reads TIMEOUT without importing torch
    from fuzzpass.judge.checked import Config


class BudgetError(ValueError):
    """A ``--budget`` that is neither a duration nor a number of cases."""


@dataclass(frozen=True)
class Budget:
    """Seconds or cases (``120``, ``90s``, ``10m``, ``2h``, ``500cases``)."""

    seconds: float | None = None
    cases: int | None = None

    @classmethod
    def parse(cls, text: str) -> Budget:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|c|cases)?\s*", text)
        if not m or float(m.group(1)) <= 0:
            raise BudgetError(f"{text!r} is not a budget (seconds: 120, 90s, 10m, 2h; cases: 500cases)")
        number, unit = float(m.group(1)), m.group(2) or "s"
        if unit in ("c", "cases"):
            return cls(cases=int(number))
        return cls(seconds=number * {"s": 1, "m": 60, "h": 3600}[unit])

    def __str__(self) -> str:
        return f"{self.cases} cases" if self.cases is not None else f"{self.seconds:g} s"


TIMEOUT = 300.0
"""Seconds a worker may spend on one unit of work (``--timeout``: a case of a run, a test entry
or a kernel call of ``fuzzpass corpus``) before it is replaced: a gate audit compiles three
kernels for five generations (six with ``--backend helion``), a large structure's first
instance for minutes on a busy 2-core machine."""

EXAMPLES = "examples"
"""The Hypothesis example database's folder under a run's ``--out`` when ``--examples`` names
none: the cases that failed, replayed first by the next run, and real kernels' seeds."""


def examples_location(out: Path, given: str | None) -> str:
    """Where the example database is: ``--examples`` (a directory or a Redis URL), else
    ``OUT/examples``; one rule for ``fuzzpass run`` and ``fuzzpass corpus``, which adds seeds."""
    return given or str(out / EXAMPLES)


@dataclass
class Options:
    config: Config
    budget: Budget
    jobs: int | None = 1  # None with ``--ray``: one per CPU (or chip) of the cluster
    out: Path = Path("fuzzpass-out")
    timeout: float = TIMEOUT
    use_swarm: bool = True
    stop_at_first: bool = False
    stop_at_kill: bool = False  # ``fuzzpass mutants``: stop at the first finding that blames the pass
    progress: bool = True
    minimize_seconds: float = 60.0  # per new finding: Hypothesis shrinks half of it, minimize the rest; 0: off
    ray: str | None = None  # ``--ray``: a Ray cluster's address, "local" for a local one; None: processes
    compile_cache: Path | None = None  # compiled programs shared by the workers of a host (``--compile-cache``)
    examples: str | None = (
        None  # ``--examples``: a directory or a Redis URL (``fuzz.examples``); None: ``out/examples``
    )
    exhaust: int | None = None  # ``fuzzpass exhaust --max-nodes K``: every structure up to K nodes, not draws
    exhaust_policy: str = "exhaust"  # ``--enumerate``: what the enumeration ranges over (``EXHAUST_POLICIES``)
    differing: bool = False  # ``--differing``: only structures where the pass under test differs from the reference

    @property
    def examples_at(self) -> str:
        return examples_location(self.out, self.examples)

    @property
    def shrink_seconds(self) -> float:
        return 0.0 if self.stop_at_kill or self.stop_at_first else self.minimize_seconds / 2


def workers_unavailable(backend: str, jobs: int | None, ray: str | None) -> str | None:
    """Why a run's workers cannot start here (the option at fault first), or None. A run's
    parent never starts JAX: for ``--backend tpu`` it counts this host's chips
    (``backends.chips``) instead of asking JAX, which would take every chip; with ``--ray``
    the chips are the cluster's nodes'."""
    from fuzzpass.backends import backend as named
    from fuzzpass.backends import chips
    from fuzzpass.fuzz.cluster import unavailable as cluster_unavailable

    if ray is not None and (reason := cluster_unavailable()):
        return f"--ray: {reason}"
    reason = None
    if not named(backend).on_chips:
        reason = named(backend).unavailable()
    elif ray is None:
        reason = chips.unavailable(jobs)
    return f"--backend {backend}: {reason}" if reason else None


def examples_unavailable(location: str) -> str | None:
    """Why the example database at ``location`` cannot be opened (a Redis server unreachable, the redis
    package missing, a directory that cannot be made), or None."""
    from fuzzpass.fuzz.examples import ExamplesError, open_examples

    try:
        open_examples(location)
    except ExamplesError as e:
        return str(e)
    return None


def example_seeds(location: str) -> tuple[str, ...]:
    """The seed cases of the corpus at ``location`` (``fuzzpass corpus`` adds real kernels'
    structures there), each checked to be a valid case; :class:`~fuzzpass.fuzz.examples.ExamplesError`
    naming the seed and its field where one is not."""
    from fuzzpass.core.case import CaseError, parse_case
    from fuzzpass.fuzz.examples import SEEDS, ExamplesError, read_seeds, shown

    seeds = read_seeds(location)
    for name, text in seeds.items():
        try:
            parse_case(json.loads(text))
        except (json.JSONDecodeError, CaseError) as e:
            raise ExamplesError(f"--examples {shown(location)}: {SEEDS}/{name}.json: {e}") from None
    return tuple(seeds.values())


def default_policy(backend: str) -> str:
    """What ``fuzzpass run`` draws when ``--policy`` is not given: with ``--backend helion``
    only cases Helion can state (``helion``), since a case it cannot state compares nothing
    (``inexpressible``); else ``mixed``."""
    from fuzzpass.backends import backend as named

    return named(backend).policy


def default_jobs(backend: str, ray: str | None) -> int | None:
    """Workers when ``--jobs`` is not given: one per core, or per TPU chip with ``--backend
    tpu``; None with ``--ray``, which sizes the run from its cluster once joined."""
    from fuzzpass.backends import backend as named
    from fuzzpass.backends import chips

    if ray is not None:
        return None
    return chips.count() if named(backend).on_chips else os.cpu_count() or 1
