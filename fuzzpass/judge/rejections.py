"""Whose fault it is when the TPU compiler rejects a kernel: one rule for the reference's
two variants (eager, deferred) and for Helion's two kernels (pass off, pass on)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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


def helion_compiles(compiled: dict[str, dict[str, Any]], gens: Sequence[str]) -> tuple[dict[str, Any], list[Finding]]:
    """Helion's two kernels compiled (mode ``on``/``off`` -> generation -> ``tpu_aot.Compiled``)
    as a report records them (per generation and mode: ``ok``, ``bundles``, ``message``), and
    the ``helion-compile`` / ``helion-tpu-unsupported`` finding of each generation that has one."""
    report = {
        gen: {m: {"ok": c[gen].ok, "bundles": c[gen].bundles, "message": c[gen].message} for m, c in compiled.items()}
        for gen in gens
    }
    findings = []
    for gen in gens:
        rejected = {f"helion-{m}": c[gen].message for m, c in compiled.items() if not c[gen].ok}
        kinds = (Kind.HELION_COMPILE, Kind.HELION_TPU_UNSUPPORTED)
        if finding := compile_finding(gen, rejected, ("helion-off", "helion-on"), kinds):
            findings.append(finding)
    return report, findings
