"""``--backend helion``: the case against production Helion, with the reference as the spec.

Three questions, each a finding kind of its own:

- ``helion-decision``: per load and tile, does Helion's ``defer_pallas_load_masks`` defer
  exactly where the reference pass does? Its choice is read from its graph and checked
  against its generated Pallas source (a deferred load's line must not multiply ``* mask_N``
  in), so a probe that misread a deferral shows as a disagreement too.
- ``helion-mismatch``: does Helion's kernel compute the case's float64 meaning on the same
  poisoned data? Helion is run with its pass on and off, and judged as the reference's two
  variants are: the pass-off kernel (its eager baseline) leaking NaN under ``nan`` poison is
  the baseline's known hazard; the pass-on kernel leaking where the baseline did not, or any
  value beyond tolerance, is a defect.
- ``helion-crash``: Helion failed to bind, generate or run the kernel, with its message.
- ``helion-compile``: where libtpu is installed, Helion's two kernels also meet the real TPU
  compiler (``backends.helion_tpu``, deviceless): Mosaic rejecting one and not the other on a
  generation is a finding (above all the pass-on kernel: Helion's pass broke compilation);
  rejecting both alike is ``helion-tpu-unsupported``, a limit of Helion's TPU codegen,
  counted and kept as an example, never a finding about the pass.
- ``helion-gate`` (``--check-gate``): Helion's profitability choice picked the kernel with
  the longer static schedule on a judged generation (``judge/helion_judge.py``'s gate audit).

A case Helion's language cannot state is ``inexpressible``, with the reason: counted, never
compared, never altered into a case it can state.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from fuzzpass.backends import helion, helion_bind, helion_patches, helion_rules, helion_tpu, helions, tpu_aot
from fuzzpass.backends.helion_bind import Bound
from fuzzpass.backends.helion_decisions import eager_loads
from fuzzpass.core.data import CaseData
from fuzzpass.core.profile import stage
from fuzzpass.judge.gate import pattern_of
from fuzzpass.judge.helion_judge import (
    MODES,
    Binds,
    Build,
    audit_gate,
    bind_modes,
    compile_modes,
    gate_unavailable,
    mismatches,
    run_kernel,
)
from fuzzpass.judge.oracle import Comparison, compare
from fuzzpass.judge.rejections import helion_compiles
from fuzzpass.judge.result import CheckResult, describe
from fuzzpass.judge.verdict import Finding, Kind, Stage
from reference.compile import compile_variant
from reference.helion_codegen import HelionSource, helion_source
from reference.ops import lookup
from reference.ops.base import Inexpressible
from reference.spec import KernelSpec

NO_PATTERN = {"consumer": "(reference: none)", "rank": "-", "at_load": "-", "at_consumer": "-"}
"""The gate pattern of a case whose tile only Helion's forced pass moves: the reference's forced
kernel, which names patterns, defers nothing there."""


def run_helion(
    result: CheckResult,
    data: CaseData,
    generations: Sequence[str] | None = None,
    gate: Sequence[str] | None = None,
) -> None:
    """Translate, bind and run ``result.case`` through Helion, and compile its kernels for
    ``generations`` (None: the default ones where libtpu is installed); ``gate``: audit
    Helion's gate too, judging these generations. Findings into ``result``."""
    from fuzzpass.judge.ground_truth import ground_truth

    case = result.case
    try:
        source = helion_source(case.spec, f"{case.name}: as a Helion kernel")
    except Inexpressible as e:
        result.findings.append(Finding(Kind.INEXPRESSIBLE, Stage.TRANSLATE, None, str(e)))
        return
    report: dict[str, Any] = {"versions": helion.versions(), "kernel": source.text, "pallas": {}}
    report["rules"] = helion_rules.describe(helion_rules.imported())  # the rules the reference modelled
    report["source"] = helions.current().to_json()  # which Helion: minimize and export import it again
    result.helion = report
    binds = bind_modes(functools.partial(helion_bind.bind, source, data, case.spec.dtype))
    outputs = run_both(result, binds)
    if "on" in binds.bound:
        check_decisions(result, source, binds.bound["on"])
    if outputs:
        with stage("ground-truth"):
            truth = {dst: t for dst, (_, t) in ground_truth(case, data).items()}
        comparisons = {mode: compare(truth, out) for mode, out in outputs.items()}
        report["comparisons"] = {mode: c.to_json() for mode, c in comparisons.items()}
        judge(result, comparisons)
    build = functools.partial(helion_tpu.build, source, data, case.spec.dtype)
    if generations is None or generations:
        compile_helion(result, build, generations)
    if gate is not None:
        audit_helion_gate(result, build, gate)


def run_both(result: CheckResult, binds: Binds) -> dict[str, Any]:
    """Each bound kernel run on the case's (poisoned) data, once where the pass changed
    nothing; Helion failing to bind or run one is its ``helion-crash``, with its message.
    Their outputs, by mode."""
    assert result.helion is not None
    outputs: dict[str, Any] = {}
    for mode in MODES:
        variant = f"helion-{mode}"
        if mode in binds.failed:
            message = helion.first_line(binds.failed[mode])
            result.findings.append(Finding(Kind.HELION_CRASH, Stage.COMPILE, variant, message))
            continue
        bound = binds.bound[mode]
        result.helion["pallas"][mode] = bound.pallas
        if binds.shared(mode):  # one kernel, bound and run once
            outputs.update({mode: outputs["on"]} if "on" in outputs else {})
            continue
        try:
            outputs[mode], _ = run_kernel(bound.launch)
        except Exception as e:
            result.findings.append(Finding(Kind.HELION_CRASH, Stage.EXECUTE, variant, helion.first_line(e)))
    return outputs


def audit_helion_gate(result: CheckResult, build: Build, judged: Sequence[str]) -> None:
    """Helion's gate on its kernels' static schedules: ``helion.gate`` in the report (a gate
    record, or why there is none) and its ``helion-gate`` findings. Filed under the
    reference's pattern of the same case, so ``gate-report`` sets the two gates side by side."""
    assert result.helion is not None
    if reason := gate_unavailable():
        result.helion["gate"] = f"unavailable: {reason}"
        return
    case = result.case

    def pattern() -> dict[str, Any]:
        if result.gate is not None:
            return result.gate.pattern
        return pattern_of(compile_variant(case.spec, "force", title=case.name)) or NO_PATTERN

    record = audit_gate(build, pattern, judged)
    result.helion["gate"] = record.to_json() if record else None
    result.findings += record.findings if record else []


def compile_helion(result: CheckResult, build: Build, generations: Sequence[str] | None) -> None:
    """Helion's kernels, pass on and off, through the TPU compiler: ``helion.tpu`` in the
    report (per generation and mode: ``ok``, ``bundles``, ``message``) and whose fault a
    rejection is (``check.compile_finding``)."""
    assert result.helion is not None
    if reason := helion_tpu.unavailable():
        result.helion["tpu"] = f"unavailable: {reason}"
        return
    gens = tuple(generations or tpu_aot.DEFAULT_GENERATIONS)
    result.helion["tpu"], findings = helion_compiles(compile_modes(build, gens), gens)
    result.findings += findings


def check_decisions(result: CheckResult, source: HelionSource, on: Bound) -> None:
    """Helion's choice per case load against the reference pass's, cross-checked with the
    Pallas source Helion generated: a load whose every tile is deferred must not multiply a
    mask in. (A kept load need not show one: Helion masks nothing that only a clamped store
    reads.)"""
    assert result.helion is not None
    case = result.case
    reference = result.deferred
    loads = [(n.out, n["src"]) for n in case.spec.graph if n.op == "load"]
    theirs = match_loads(loads, on.loads, source.names)
    if helion_patches.pass_absent():  # a Helion from before the pass: every load keeps its eager mask
        result.helion["pass"] = "absent: this Helion has no defer_pallas_load_masks"
        theirs = {out: [] for out, _ in loads if out in live_outs(case.spec)}
    eager = eager_loads(on.pallas)
    inconsistent = []
    for out, src in loads:
        tiles = [d for d in case.spec.inputs[src] if isinstance(d, str)]
        if tiles and sorted(theirs.get(out, [])) == sorted(tiles) and source.names[out] in eager:
            inconsistent.append(
                f"{out}: Helion's graph defers {theirs[out]}, yet its Pallas load line multiplies a mask in"
            )
    result.helion["deferred"] = {out: sorted(theirs.get(out, [])) for out, _ in loads}
    result.helion["inconsistent"] = inconsistent
    live = live_outs(case.spec)
    result.helion["dead_code"] = [out for out, _ in loads if out not in live]
    missing = [out for out, _ in loads if out not in theirs and out in live]
    parted = [
        f"{out}: Helion defers {sorted(theirs.get(out, []))}, the reference {sorted(reference.get(out, []))}"
        for out, _ in loads
        if out in theirs and sorted(theirs[out]) != sorted(reference.get(out, []))
    ]
    if missing:
        inconsistent.append(f"no load node of Helion's graph reads {', '.join(missing)}")
    if parted or inconsistent:
        result.findings.append(
            Finding(Kind.HELION_DECISION, Stage.DECIDE, "helion-on", "; ".join(parted + inconsistent))
        )


def live_outs(spec: KernelSpec) -> set[str]:
    """Every ``out`` a store depends on. Helion removes the rest as dead code before its pass
    runs, so a load outside this set has no node in its graph, and no decision to compare."""
    producers = {n.out: n for n in spec.graph if n.out}
    live: set[str] = set()
    stack = [n for n in spec.graph if n.op == "store"]
    while stack:
        node = stack.pop()
        for name in (node[f] for f in lookup(node.op).value_fields(node)):
            if name not in live:
                live.add(name)
                stack.append(producers[name])
    return live


def match_loads(loads: list[tuple[str, str]], nodes: list[Any], names: dict[str, str]) -> dict[str, list[str]]:
    """Case load -> the tiles Helion deferred, matching load nodes by the variable the
    kernel gives them, else in order among the loads of the same input."""
    by_name = {n.node: n for n in nodes}
    left = [n for n in nodes if n.node not in {names[out] for out, _ in loads}]
    matched = {}
    for out, src in loads:
        node = by_name.get(names[out])
        if node is None or node.source != src:
            node = next((n for n in left if n.source == src), None)
            if node is None:
                continue
            left.remove(node)
        matched[out] = node.deferred
    return matched


def judge(result: CheckResult, comparisons: dict[str, Comparison]) -> None:
    """Helion's numbers against the case's float64 ground truth, judged as the reference's
    variants are (``fuzzpass.judge.check.judge``): the pass-off kernel leaking NaN under ``nan``
    poison is the baseline's known hazard; the pass-on kernel leaking where it did not is not."""
    nan_poison = result.poison == "nan"
    on, off = comparisons.get("on"), comparisons.get("off")
    off_wrong = off is not None and off.baseline_wrong(nan_poison)
    on_wrong = on is not None and (on.out_of_tolerance or on.leaks_beyond(off, nan_poison))
    result.findings += mismatches(
        f"Helion with its pass off: {describe(off)}" if off_wrong else None,
        f"Helion: {describe(on)}" if on_wrong else None,
    )
