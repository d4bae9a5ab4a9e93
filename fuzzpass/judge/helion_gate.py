"""The gate audit on production Helion's kernels (``--check-gate --backend helion``).

As :mod:`fuzzpass.judge.gate` audits the reference, on the kernels Helion builds for a TPU
(``backends.helion_tpu``, deviceless): its pass off (``eager``), on as users run it
(``deferred``) and with its profitability gate bypassed (``forced``,
``backends.helion_force``). Where Helion's forced kernel defers nothing there is no choice to
audit. Otherwise the choice Helion made is compared with the other one on the static schedule
of every generation: a choice longer than the other beyond ``gate.MARGIN`` on a judged
generation is a ``helion-gate`` finding. Recorded under the reference's pattern of the same
case, so ``gate-report`` sets the two gates side by side.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fuzzpass.core.data import CaseData
from fuzzpass.judge.gate import GENERATIONS, GateRecord, pattern_of
from fuzzpass.judge.verdict import Kind
from reference.compile import compile_variant
from reference.helion_codegen import HelionSource

KERNELS = {"eager": "off", "deferred": "on", "forced": "force"}
"""The gate record's variant names and the Helion pass mode that builds each."""

NO_PATTERN = {"consumer": "(reference: none)", "rank": "-", "at_load": "-", "at_consumer": "-"}
"""The pattern of a case whose tile only Helion's forced pass moves: the reference's forced
kernel, which names patterns, defers nothing there."""


def audit_helion(
    case: Any, source: HelionSource, data: CaseData, judged: Sequence[str], pattern: dict[str, Any] | None
) -> GateRecord | None:
    """Helion's three kernels of ``case`` compiled for every generation, ``helion-gate``
    findings for those in ``judged``; None when Helion's forced pass defers nothing.
    ``pattern``: the reference's audit's, if it made one."""
    from fuzzpass.backends import helion_tpu

    dtype = case.spec.dtype
    if not helion_tpu.build(source, data, dtype, "force").defers:
        return None
    if pattern is None:
        pattern = pattern_of(compile_variant(case.spec, "force", title=case.name)) or NO_PATTERN
    choice = "defer" if helion_tpu.build(source, data, dtype, "on").defers else "keep"
    record = GateRecord(pattern, choice, by="helion")
    compiled = {name: helion_tpu.compile_for(source, data, dtype, mode, GENERATIONS) for name, mode in KERNELS.items()}
    for gen in GENERATIONS:
        record.add(gen, {name: per_gen[gen] for name, per_gen in compiled.items()})
    record.judge(judged, Kind.HELION_GATE, "helion-on")
    return record
