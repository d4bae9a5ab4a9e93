"""Whose fault it is when the TPU compiler rejects a kernel: one rule for the reference's
two variants (eager, deferred) and for Helion's two kernels (pass off, pass on)."""

from __future__ import annotations

from fuzzpass.judge.result import VARIANTS
from fuzzpass.judge.signature import blank_numbers
from fuzzpass.judge.verdict import Finding, Kind, Stage


def compile_finding(
    gen: str,
    rejected: dict[str, str],
    variants: tuple[str, str] = VARIANTS,
    kinds: tuple[Kind, Kind] = (Kind.COMPILE, Kind.TPU_UNSUPPORTED),
) -> Finding | None:
    """Whose fault the TPU compiler's rejections on ``gen`` are (``rejected``: variant ->
    message). Both variants rejected alike is a limit of codegen or of Mosaic, not of the pass:
    ``tpu-unsupported``. One rejected and not the other is a ``compile`` finding: above all the
    deferred kernel rejected while the eager one compiles (the pass broke compilation); the
    eager one alone is the baseline's. Both rejected differently is a ``compile`` finding too,
    with both messages: the pass changed how the kernel fails. ``variants`` and ``kinds`` say
    the same of Helion's two kernels (``helion-off``, ``helion-on``)."""
    if not rejected:
        return None
    differ, alike = kinds
    if len(rejected) == len(variants):
        if len({blank_numbers(m) for m in rejected.values()}) == 1:
            return Finding(alike, Stage.COMPILE, None, f"{gen}: {rejected[variants[0]]}")
        both = "; ".join(f"{name}: {rejected[name]}" for name in variants)
        return Finding(differ, Stage.COMPILE, None, f"{gen}: both rejected, differently: {both}")
    ((name, message),) = rejected.items()
    other = next(v for v in variants if v != name)
    return Finding(differ, Stage.COMPILE, name, f"{gen}: {name} rejected, {other} compiled: {message}")
