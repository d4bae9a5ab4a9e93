"""``fuzzpass check``: one case compiled both ways and judged.

The eager variant (the pass off: Helion's "Before" kernel) and the deferred variant (the pass
on: "After") are compiled from the case; the pass's decisions are checked against the case's
``expect``; both run on the chosen backend and are compared with the float64 ground truth and
with each other; where libtpu is installed, both also compile for real TPU generations.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch.fx

from fuzzpass.backends import DEFAULT as DEFAULT_BACKEND
from fuzzpass.backends import backend as named
from fuzzpass.backends import helion, helion_rules
from fuzzpass.core.case import Case
from fuzzpass.core.data import CaseData, draw
from fuzzpass.core.expect import expect_forced, expect_from_spec
from fuzzpass.core.profile import stage
from fuzzpass.judge.gate import audit
from fuzzpass.judge.helion_check import run_helion
from fuzzpass.judge.mutants import Mutant
from fuzzpass.judge.oracle import Comparison, agree_bitwise, compare, disagree
from fuzzpass.judge.rejections import compile_finding
from fuzzpass.judge.result import VARIANTS, BackendUnavailable, CheckResult, describe
from fuzzpass.judge.verdict import Finding, Kind, Stage, verdict_of
from reference import mosaic
from reference.codegen import KernelSource
from reference.compile import Variant, compile_variant
from reference.gates import DEFAULT as DEFAULT_GATE
from reference.graph import regrouping_reshape
from reference.neighbours import PALLAS_DEFERRED_MASK_CONSUMERS_META, Neighbours, UnknownMayNotBeFinite
from reference.ops.mask import _mask_to
from reference.ops.memory import load as load_target
from reference.relayouts import RELAYOUT_OPS

Runner = Callable[[KernelSource, CaseData, str], dict[str, np.ndarray]]
"""A backend's ``run``: one variant's source over a case's data in its dtype, outputs as float64."""


def check_decisions(
    case: Case, deferred: Variant, gate_rule: str = DEFAULT_GATE, relayouts: frozenset[str] = RELAYOUT_OPS
) -> list[Finding]:
    """The pass's choice per load against the case's ``expect.deferred`` (Helion's positional
    gate). Under another gate only safety is the oracle's to judge, profitability the gate
    audit's: a tile may be deferred only where forcing would defer it (``expect_forced``). A
    pass that defers through more ops than Helion's (``relayouts``, a candidate's) is held to
    the same rules over its own relayouts, derived from the case's nodes."""
    got = deferred.deferred()
    if gate_rule != DEFAULT_GATE:
        allowed = expect_forced(case.spec, relayouts)
        unsafe = [
            f"{load}: deferred {tiles}, which only {sorted(t for t, ok in allowed.get(load, {}).items() if ok)} may be"
            for load, tiles in got.items()
            if any(not allowed.get(load, {}).get(t, False) for t in tiles)
        ]
        return [Finding(Kind.DECISION, Stage.DECIDE, "deferred", "; ".join(unsafe))] if unsafe else []
    expected = case.expect_deferred
    if relayouts != RELAYOUT_OPS:
        rules = expect_from_spec(case.spec, relayouts)
        expected = {load: [t for t, r in reasons.items() if r == "deferred"] for load, reasons in rules.items()}
    if expected is None:
        return []
    wrong = [
        f"{load}: deferred {got.get(load, [])}, expected {list(tiles)}"
        for load, tiles in expected.items()
        if sorted(got.get(load, [])) != sorted(tiles)
    ]
    return [Finding(Kind.DECISION, Stage.DECIDE, "deferred", "; ".join(wrong))] if wrong else []


def check_forced_decisions(case: Case, forced: Variant, relayouts: frozenset[str] = RELAYOUT_OPS) -> list[Finding]:
    """The forced kernel's choice per load against the rules (``expect_forced``): forcing
    defers exactly the tiles that are safe to defer and that a relayout moves. Its numbers
    rarely show a tile deferred past a use that does not re-mask it, since every consumer
    masks its own input again; its decisions do."""
    allowed = expect_forced(case.spec, relayouts)
    got = forced.deferred()
    wrong = [
        f"{load}: forced deferred {sorted(got.get(load, []))}, the rules force {want}"
        for load, tiles in allowed.items()
        if sorted(got.get(load, [])) != (want := sorted(t for t, ok in tiles.items() if ok))
    ]
    return [Finding(Kind.DECISION, Stage.DECIDE, "forced", "; ".join(wrong))] if wrong else []


def check_discharge(deferred: Variant) -> list[Finding]:
    """What Helion's emit-pipeline lowering relies on (``PALLAS_DEFERRED_MASK_CONSUMERS_META``):
    for every deferred (load, tile), each mask the pass recorded as discharging it is still in
    the final graph, and every path from the load through permutes ends at one of them. A
    mask removed after the pass (``dots_zeroed_by_partner`` without its exception) or a
    consumer missing from the record leaves the tile unmasked, whatever the numerics show:
    NaN lanes the partner's zeros meet are the eager kernel's hazard too."""
    graph = deferred.graph
    names = {n.meta.get("var"): n for n in graph.nodes}
    wrong = []
    for load in graph.find_nodes(op="call_function", target=load_target):
        recorded: dict[str, tuple[str, ...]] = load.meta.get(PALLAS_DEFERRED_MASK_CONSUMERS_META, {})
        for tile in sorted(load.meta.get("deferred_tiles", ())):
            kept = set(recorded.get(tile, ()))
            gone = sorted(name for name in kept if name not in names)
            if gone:
                wrong.append(f"{load.meta['var']}: tile {tile}'s discharging mask {', '.join(gone)} was removed")
            ends = sorted(set(discharge_ends(load, deferred.relayouts)) - kept)
            if ends:
                wrong.append(
                    f"{load.meta['var']}: tile {tile} reaches {', '.join(ends)}, not recorded as discharging it"
                )
    return [Finding(Kind.UNDISCHARGED, Stage.DECIDE, "deferred", "; ".join(wrong))] if wrong else []


def discharge_ends(node: torch.fx.Node, relayouts: frozenset[object]) -> list[str]:
    """Where each path from ``node`` through ``relayouts`` ends: a mask's name, or the op of
    another use."""
    ends = []
    for user in node.users:
        if user.target in relayouts:
            ends += discharge_ends(user, relayouts)
        else:
            ends.append(user.meta["var"] if user.target is _mask_to else f"{user.meta.get('var', user.name)} unmasked")
    return ends


def judge(result: CheckResult, truth: dict[str, Any], outs: dict[str, dict[str, np.ndarray]]) -> list[Finding]:
    """Verdicts from numerics (CASES.md): eager wrong is the baseline's bug, unless a reshape
    regrouped a tile's rows (``baseline-unstated``: no positional mask follows the case's
    meaning there, and Helion cannot state the graph); the deferred variant leaking NaN/Inf
    the eager one did not, or disagreeing, is the pass's."""
    eager, deferred = result.comparisons["eager"], result.comparisons["deferred"]
    nan_poison = result.poison == "nan"
    if eager.baseline_wrong(nan_poison):
        if unstated := regrouping_reshape(result.case.spec):
            return [Finding(Kind.BASELINE_UNSTATED, Stage.VERIFY, "eager", f"{unstated}: {describe(eager)}")]
        return [Finding(Kind.BASELINE_MISMATCH, Stage.VERIFY, "eager", describe(eager))]
    return judge_variant("deferred", truth, outs, eager, deferred, nan_poison)


def check_case(
    case: Case,
    *,
    backend: str | None = None,
    poison: str = "nan",
    generations: Sequence[str] | None = None,
    mutant: Mutant | None = None,
    gate: Sequence[str] | None = None,
    gate_rule: str = DEFAULT_GATE,
    forced: bool = False,
) -> CheckResult:
    """Check ``case``. ``backend`` None runs interpret numerics plus, where libtpu is
    installed, TPU compiles; ``mutant`` swaps in a broken pass (or a candidate) for the
    deferred variant; ``gate`` audits the pass's choice on static schedules, judging these
    generations; ``forced``, without ``gate``: the mutant's forced kernel is checked where it
    differs from the reference's (:func:`check_forced`); ``gate_rule`` is the reference
    pass's profitability gate. Against Helion (``backend`` "helion", no mutant) both
    variants have the rules of the Helion this process imports (``backends.helion_rules``),
    the case's expectation still Helion 1.5.1's. A gate that reads
    the target generation (a ``targeted`` gate of ``reference.gates``) compiles the deferred variant for the
    first of ``generations`` (none: not known), and the audit each generation's own."""
    from fuzzpass.backends import tpu_aot

    runs_on = named(backend) if backend is not None else None
    if runs_on and runs_on.helion:
        helion.prepare_environment()  # before anything imports Helion
    result = CheckResult(case=case, poison=poison)
    target = generations[0] if generations else None
    # Against Helion, the reference has the rules of the Helion imported: a fresh set per compile
    rules = helion_rules.modelled if runs_on and runs_on.helion and mutant is None else Neighbours
    eager_rules, deferred_rules = rules(), rules()
    try:
        with stage("codegen"):
            eager_title, title = f"{case.name}: eager (Before)", f"{case.name}: deferred (After)"
            result.variants["eager"] = compile_variant(case.spec, "off", title=eager_title, rules=eager_rules)
            result.variants["deferred"] = (
                mutant.compile(case.spec, title)
                if mutant
                else compile_variant(case.spec, title=title, gate=gate_rule, generation=target, rules=deferred_rules)
            )
            # The case's expectation follows Helion 1.5.1's rules (an hl.dot masking along K among them)
            oracle = result.variants["deferred"]
            if mutant is None and deferred_rules.absent:
                oracle = compile_variant(case.spec, title=title, gate=gate_rule, generation=target)
    except Exception as e:  # a codegen failure is a finding about the reference, with its message
        result.findings.append(Finding(Kind.CRASH, Stage.CODEGEN, None, f"{type(e).__name__}: {e}"))
        return result
    relayouts = mutant.deferral.relayout_ops if mutant else RELAYOUT_OPS
    result.findings += check_decisions(case, oracle, gate_rule if mutant is None else DEFAULT_GATE, relayouts)
    result.findings += check_discharge(result.variants["deferred"])

    with stage("data"):
        data = draw(case, poison)
    if gate is None and forced and mutant is not None:
        check_forced(result, data, mutant)
    if gate is not None:
        with stage("gate-audit"):
            rule = gate_rule if mutant is None else None
            forcing = forced_variant(case, mutant)
            result.gate = audit(case, result.variants["eager"], result.variants["deferred"], data, gate, rule, forcing)
        result.findings += check_forced_decisions(case, forcing, relayouts)
        result.findings += result.gate.findings if result.gate else []
        check_audited(result, data)
    if runs_on and runs_on.helion:
        run_helion(result, data, generations, gate)
        return result
    numerics = runs_on or named(DEFAULT_BACKEND)
    if numerics.numerics is not None:
        run_numerics(result, numerics.name, data)
    gens = tpu_aot.DEFAULT_GENERATIONS if generations is None else tuple(generations)  # (): none asked for
    if gens and ((runs_on and runs_on.deviceless) or (runs_on is None and tpu_aot.unavailable() is None)):
        run_tpu_compiles(result, gens, data)
    elif backend is None:
        result.backends["tpu-aot"] = f"skipped: {tpu_aot.unavailable() or 'no TPU generation asked for'}"
    return result


def check_audited(result: CheckResult, data: CaseData) -> None:
    """Every kernel the gate audit compiled beyond eager and deferred (the forced variant, each
    gate's choice: ``GateRecord.kernels``) run in interpret mode on the case's data and judged
    as the deferred variant is: a schedule the audit compares is only worth something if its
    kernel is right. Whatever the run's backend, interpret mode judges them; a finding names
    the variant."""
    kernels = result.gate.kernels if result.gate else {}
    if kernels:
        comparisons, found = check_variants(result.case, data, result.poison, result.variants["eager"], kernels)
        result.audited.update(comparisons)
        result.findings += found


def check_forced(result: CheckResult, data: CaseData, mutant: Mutant) -> None:
    """The gate audit's forced kernel as ``mutant`` (a candidate) builds it, run and judged
    in interpret mode where it is a kernel of its own: unlike the eager and deferred ones, and
    unlike the reference's forced kernel. That is all the gate audit could find beyond the
    plain check where it judges no generation (``fuzzpass mutants``): its TPU compiles time
    nothing there, and its gates' kernels are the reference's. Its decisions are held to the
    rules only where they differ from the reference's forced kernel's, which forces as the
    rules do (the gate audit checks that: ``check_forced_decisions``)."""
    from fuzzpass.judge.gate import distinct

    case = result.case
    with stage("codegen"):
        forced, reference = forced_variant(case, mutant), forced_variant(case, None)
    if forced.deferred() != reference.deferred():  # the reference forces as the rules do
        result.findings += check_forced_decisions(case, forced, mutant.deferral.relayout_ops)
    kernels = distinct([result.variants["eager"], result.variants["deferred"], reference], {"forced": forced})
    if kernels:
        comparisons, found = check_variants(case, data, result.poison, result.variants["eager"], kernels)
        result.audited.update(comparisons)
        result.findings += found


def forced_variant(case: Case, mutant: Mutant | None) -> Variant:
    """The forced kernel (every safe tile a relayout moves deferred, the gate bypassed) as
    ``mutant`` builds it, or the reference pass."""
    title = f"{case.name}: forced"
    return mutant.compile_forced(case.spec, title) if mutant else compile_variant(case.spec, "force", title=title)


def check_variants(
    case: Case, data: CaseData, poison: str, eager: Variant, kernels: dict[str, Variant]
) -> tuple[dict[str, Comparison], list[Finding]]:
    """Each of ``kernels`` run beside ``eager`` in interpret mode and judged against the
    float64 ground truth and the eager kernel (:func:`judge_variant`): the generic interpreter
    screens, TPU interpret mode judges what it flags and its verdict stands, as for the
    check's own variants. Nothing is judged where the eager kernel is wrong (the baseline's
    fault, the check's to report)."""
    from fuzzpass.backends import interpret
    from fuzzpass.judge.ground_truth import ground_truth

    with stage("ground-truth"):
        truth = {dst: t for dst, (_, t) in ground_truth(case, data).items()}
    dtype, nan = case.spec.dtype, poison == "nan"
    comparisons: dict[str, Comparison] = {}
    findings: list[Finding] = []
    for name, variant in kernels.items():
        for interpreter in ("generic", "tpu"):
            runner = functools.partial(interpret.run, interpreter=interpreter)
            try:
                outs = {"eager": runner(eager.source, data, dtype), name: runner(variant.source, data, dtype)}
            except Exception as e:  # one kernel's crash is a finding, never the end of the run
                first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                found = [Finding(Kind.CRASH, Stage.EXECUTE, name, f"{type(e).__name__}: {first}")]
                continue
            base, comparisons[name] = compare(truth, outs["eager"]), compare(truth, outs[name])
            found = [] if base.baseline_wrong(nan) else judge_variant(name, truth, outs, base, comparisons[name], nan)
            if not found:
                break  # the screen passed it, or TPU interpret mode overruled the screen
        findings += found
    return comparisons, findings


def judge_variant(
    name: str, truth: dict[str, Any], outs: dict[str, Any], eager: Comparison, mine: Comparison, nan: bool
) -> list[Finding]:
    """The verdict on variant ``name`` against the ground truth and the eager kernel (the
    eager kernel right): leaking NaN/Inf the eager one did not, or disagreeing, is the pass's."""
    if mine.leaks_beyond(eager, nan):
        return [Finding(Kind.NONFINITE_LEAK, Stage.VERIFY, name, describe(mine))]
    if mine.out_of_tolerance:
        return [Finding(Kind.MISMATCH, Stage.VERIFY, name, describe(mine))]
    if n := disagree(truth, outs["eager"], outs[name]):
        message = f"{n} valid elements differ from the eager variant beyond tolerance"
        return [Finding(Kind.MISMATCH, Stage.VERIFY, name, message)]
    return []


def run_numerics(result: CheckResult, backend: str, data: CaseData) -> None:
    """Both variants run on ``backend`` and judged against the float64 ground truth.

    ``interpret`` screens with Pallas' generic interpreter and has TPU interpret mode judge
    again every case the screen flags: the same NaN-filled memory and the same data, but DMAs,
    semaphores and bounds as the TPU has them, so a finding is always TPU interpret mode's. Its
    verdict stands; where the screen flagged a case it passes, ``backends`` says so.
    ``interpret-tpu`` runs every case in TPU interpret mode (several times slower)."""
    from fuzzpass.backends import interpret, tpu
    from fuzzpass.judge.ground_truth import ground_truth

    where = named(backend).numerics
    if where == "device" and (reason := tpu.unavailable()):
        raise BackendUnavailable(f"--backend {backend}: {reason}")
    with stage("ground-truth"):
        truth = {dst: t for dst, (_, t) in ground_truth(result.case, data).items()}
    if where == "device":
        result.findings += numerics(result, tpu.run, truth, data)
        result.backends[backend] = "ran"
        return
    found = numerics(result, functools.partial(interpret.run, interpreter=where), truth, data)
    result.backends[backend] = "ran"
    if found and where == "generic":
        screened = verdict_of(found).value
        found = numerics(result, functools.partial(interpret.run, interpreter="tpu"), truth, data)
        result.backends[backend] = f"generic interpreter: {screened}; TPU interpret mode: {verdict_of(found).value}"
    result.findings += found


def numerics(result: CheckResult, runner: Runner, truth: dict[str, Any], data: CaseData) -> list[Finding]:
    """Both variants run by ``runner``; their comparisons kept in ``result``, their findings returned."""
    dtype = result.case.spec.dtype
    outs: dict[str, dict[str, np.ndarray]] = {}
    found: list[Finding] = []
    result.comparisons.clear()
    result.bitwise_equal = None
    for name in VARIANTS:
        if name == "deferred" and "eager" in outs and same_kernel(result.variants["eager"], result.variants[name]):
            # The pass changed nothing: one kernel, run once (the interpreter is deterministic).
            outs[name], result.comparisons[name] = outs["eager"], result.comparisons["eager"]
            continue
        try:
            outs[name] = runner(result.variants[name].source, data, dtype)
        except Exception as e:  # one kernel's crash is a finding, never the end of the run
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            found.append(Finding(Kind.CRASH, Stage.EXECUTE, name, f"{type(e).__name__}: {first}"))
            continue
        result.comparisons[name] = compare(truth, outs[name])
    if len(outs) == 2:
        result.bitwise_equal = agree_bitwise(truth, outs["eager"], outs["deferred"])
        judged = judge(result, truth, outs)
        if result.poison == "nan" and verdict_of(judged) is Kind.BASELINE_MISMATCH:
            again = judged_under_finite_poison(result, runner)
            eager, deferred = result.comparisons["eager"], result.comparisons["deferred"]
            if again is not None and deferred.leaks_beyond(eager, True):  # what only nan poison shows
                again.append(Finding(Kind.NONFINITE_LEAK, Stage.VERIFY, "deferred", describe(deferred)))
            judged = judged if again is None else again
        if verdict_of(judged) is Kind.BASELINE_MISMATCH and (known := helions_known_bug(result, runner, truth, data)):
            judged = [known]
        found += judged
    return found


def helions_known_bug(result: CheckResult, runner: Runner, truth: dict[str, Any], data: CaseData) -> Finding | None:
    """``helion-known`` where the eager kernel's error is Helion 1.5.1's documented
    ``_dots_zeroed_by_partner`` bug, which the reference models as Helion has it: compiled with
    that rule keeping the mask of an operand whose masked value is unknown
    (``UnknownMayNotBeFinite``), the eager kernel is right. Under ``nan`` poison it is judged
    with ``finite`` poison, apart from the baseline's other known hazard (``NaN * 0``). None
    where it is still wrong (the baseline's own bug) or the rule changed nothing."""
    from fuzzpass.judge.ground_truth import ground_truth

    case = result.case
    fixed = compile_variant(case.spec, "off", title=f"{case.name}: eager", rules=UnknownMayNotBeFinite())
    if same_kernel(fixed, result.variants["eager"]):
        return None
    if result.poison == "nan":
        data = draw(case, "finite")
        truth = {dst: t for dst, (_, t) in ground_truth(case, data).items()}
    try:
        right = not compare(truth, runner(fixed.source, data, case.spec.dtype)).baseline_wrong(False)
    except Exception:  # the other kernel fails: the first verdict stands
        return None
    if not right:
        return None
    why = "Helion 1.5.1's _dots_zeroed_by_partner takes an unknown masked value as finite (docs/helion.md)"
    return Finding(Kind.HELION_KNOWN, Stage.VERIFY, "eager", f"{why}: {describe(result.comparisons['eager'])}")


def judged_under_finite_poison(result: CheckResult, runner: Runner) -> list[Finding] | None:
    """Both kernels judged again on the case's data with ``finite`` poison, where the eager one
    missed the truth under ``nan`` poison; None where it misses it there too (the baseline's
    own bug) or a kernel fails. The two data differ only past the end of the inputs, so an
    eager kernel right under finite poison was wrong only by meeting non-finite padding with its
    multiplicative mask (``NaN * 0``): the baseline's known hazard, which an op can hide as a
    finite wrong value (a max that drops NaN, as XLA:CPU's may), never a finding. The deferred
    kernel is judged there as it would have been."""
    from fuzzpass.judge.ground_truth import ground_truth

    case = result.case
    data = draw(case, "finite")
    truth = {dst: t for dst, (_, t) in ground_truth(case, data).items()}
    try:
        outs = {name: runner(result.variants[name].source, data, case.spec.dtype) for name in VARIANTS}
    except Exception:  # a kernel that ran under nan poison and fails here: keep the first verdict
        return None
    eager = compare(truth, outs["eager"])
    if eager.baseline_wrong(False):
        return None
    result.eager_hazard = "wrong under nan poison, right under finite poison: NaN * 0 in the eager mask"
    return judge_variant("deferred", truth, outs, eager, compare(truth, outs["deferred"]), False)


def same_kernel(a: Variant, b: Variant) -> bool:
    """Whether two variants compile to the same kernel (their sources differ at most in title)."""
    from fuzzpass.backends.kernel import structural

    return structural(a.source.text) == structural(b.source.text)


def run_tpu_compiles(result: CheckResult, generations: Sequence[str], data: CaseData) -> None:
    """Both variants through the TPU compiler for each generation; whose fault a rejection is
    (:func:`compile_finding`). A structure no layout of it compiles (``reference.mosaic``) or a
    dtype Mosaic has no vectors for is ``tpu-unsupported`` without compiling."""
    from fuzzpass.backends import tpu_aot

    if reason := tpu_aot.unavailable():
        raise BackendUnavailable(f"--backend tpu-aot: {reason}")
    if reason := mosaic.unsupported(result.case.spec):
        result.backends["tpu-aot"] = f"unsupported: {reason}"
        result.findings.append(Finding(Kind.TPU_UNSUPPORTED, Stage.COMPILE, None, reason))
        return
    report: dict[str, dict[str, str]] = {}
    for gen in generations:
        compiled = {}
        for name in VARIANTS:
            with stage("tpu-compile"):
                compiled[name] = tpu_aot.compile_for(result.variants[name].source, data, result.case.spec.dtype, gen)
        report[gen] = {name: "compiled" if c.ok else f"rejected: {c.message}" for name, c in compiled.items()}
        if finding := compile_finding(gen, {name: c.message for name, c in compiled.items() if not c.ok}):
            result.findings.append(finding)
    result.backends["tpu-aot"] = report
