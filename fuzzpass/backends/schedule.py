"""Static schedule lengths from the real TPU compiler: what it plans, not what a TPU measures.

libtpu can dump, for every kernel it compiles, the final VLIW schedule of the kernel body and
its length, ``total scheduled bundles: N`` (``../shared/TPU-AOT.md``). One grid step of a
kernel issues that many bundles, DMA waits and MXU stalls left out. So a bundle count is
evidence about which variant the compiler makes cheaper, per generation, with the same
libtpu: a *static schedule, never a timing*. On a TPU host, timings decide
(``tests/benchmarks``).

libtpu reads its flags once, when JAX starts the TPU backend: :func:`enable` must run before
that, in the process that compiles (``fuzzpass run --check-gate`` workers do it first).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

_FLAGS = "--xla_jf_dump_to={} --xla_jf_dump_llo_text=true --xla_jf_dump_llo_pass_label_regex=final_bundles"
_TOTAL = re.compile(r"total scheduled bundles:\s+(\d+)")
_SCHEDULE = re.compile(r"^\d+-(?P<program>.+)-\d+-schedule-analysis_final_bundles\.txt$")
PROGRAM = frozenset({"TLP", "<late-finalization>", "<late-initialization>"})
"""The XLA program's own schedules around a kernel: the launch, not the kernel. A Mosaic kernel's
schedule is named after the kernel (``tpu_custom_call`` for an unnamed ``pallas_call``, the
function's name for Helion's, e.g. ``wrapper``)."""

_directory: Path | None = None


def enable() -> Path:
    """Ask libtpu to dump every kernel's final schedule into a directory of this process."""
    global _directory
    if _directory is None:
        _directory = Path(tempfile.mkdtemp(prefix="fuzzpass-schedules-"))
        flags = os.environ.get("LIBTPU_INIT_ARGS", "")
        os.environ["LIBTPU_INIT_ARGS"] = f"{flags} {_FLAGS.format(_directory)}".strip()
    return _directory


def enabled() -> bool:
    return _directory is not None


def snapshot() -> set[str]:
    """The dump files present now (call before a compile)."""
    return set(os.listdir(_directory)) if _directory else set()


def bundles_since(before: set[str]) -> int | None:
    """The scheduled bundles of the kernel compiled since ``before``; the dumps are removed,
    as a long run compiles thousands of kernels. None when nothing was dumped."""
    if _directory is None:
        return None
    new = sorted(set(os.listdir(_directory)) - before)
    counts = []
    for name in new:
        path = _directory / name
        kernel = (m := _SCHEDULE.match(name)) is not None and m["program"] not in PROGRAM
        if kernel and (m := _TOTAL.search(path.read_text(errors="replace"))):
            counts.append(int(m.group(1)))
        path.unlink(missing_ok=True)
    return sum(counts) if counts else None
