"""One real kernel call judged: Helion's pass on and off, what it changed, whether it is right,
whether the TPU compiler takes both kernels, and whether deferring paid.

- *Fired*: the Pallas source Helion generates with its pass on differs from the one with it
  replaced by a no-op (``backends.helion_decisions.pass_mode``); the diff is kept. Where the pass
  deferred no load's mask it changed nothing, and the pass-off bind is not made.
- *Numerics*, where it fired: both kernels run in interpret mode on the file's own inputs and
  again with NaN past the end of every input (``backends.helion_patches.poisoned_padding``), compared
  with each other and with the file's reference where it compared one. The pass-off kernel
  leaking poison is the eager baseline's known hazard; the pass-on kernel leaking where the
  pass-off one did not, or disagreeing where the pass-off one agrees, is ``helion-mismatch``.
  Where plain interpret mode cannot run the pass-off kernel (a jagged worklist's
  data-dependent block sizes), both run in TPU interpret mode (``helion_patches.tpu_interpret``);
  where neither can, the numerics are ``not run: <why>``, a limit of the harness.
- *Compile*, where it fired: both kernels through the TPU compiler, deviceless, per
  generation: ``helion-compile`` / ``helion-tpu-unsupported`` as for a case. Where the pass
  changed nothing there is nothing of the pass's to compile (and compiling every other kernel
  of Helion's tree for three generations was most of a run's time).
  A kernel Helion's launcher could not build for a TPU here is ``not run`` on every
  generation, never a verdict of the TPU compiler's.
- *Gate*, where it fired: the pass-off, pass-on and forced kernels' static schedules on every
  generation (``judge.helion_judge.audit_gate``, as for a case); deferring that costs more than
  ``gate.MARGIN`` on a judged generation is ``helion-gate``. A generation where a kernel has no
  schedule is not audited; where Helion's gate cannot be bypassed there is no audit.

The steps are the one Helion judge's (``judge/helion_judge.py``); what is this module's own is
a call's binding (a copy of its kernel on its arguments and config), the interpreters tried in
turn, and the comparisons with the file's reference and between clean and poisoned runs.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fuzzpass.backends import helion, helion_patches, helion_tpu
from fuzzpass.backends.helion_bind import Bound, copy_kernel
from fuzzpass.backends.helion_decisions import pass_mode
from fuzzpass.judge.gate import audited
from fuzzpass.judge.helion_judge import (
    Binds,
    Build,
    audit_gate,
    bind_modes,
    compile_modes,
    gate_unavailable,
    measured,
    mismatches,
    run_kernel,
)
from fuzzpass.judge.rejections import helion_compiles
from fuzzpass.judge.verdict import Finding, Kind, Stage, verdict_of
from fuzzpass.kernels.numerics import BETWEEN_VARIANTS, DEFAULT_TOLERANCE, difference, poison_reached, tolerance
from fuzzpass.kernels.record import Call, clone

MODES = ("off", "on")
"""The pass modes in the order a call's results list them."""
INTERPRETERS = ("interpret", "TPU interpret")
"""Where a real kernel's numbers come from, first choice first (see the module)."""

SECONDS = {"helion-bind": "bind", "helion": "run", "helion-tpu-compile": "compile", "helion-gate-audit": "compile"}
"""The judge's profile stages (``judge.helion_judge.STAGES``) as a call's ``seconds`` name them."""

PATTERN = {"consumer": "helion kernel", "rank": "-", "at_load": "-", "at_consumer": "-"}
"""What a real kernel's gate record is filed under: no reference pass names its pattern."""


@dataclass
class Judged:
    """What one call of one kernel showed (``to_json`` is its line in ``kernels.jsonl``)."""

    file: str
    kernel: str
    entry: str
    config: str = ""  # the config the file ran it with, as Helion prints it
    decisions: list[dict[str, Any]] = field(default_factory=list)
    fired: bool = False
    diff: str = ""
    sources: dict[str, str] = field(default_factory=dict)
    numerics: dict[str, str] = field(default_factory=dict)
    compiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    gate: dict[str, Any] | None = None
    findings: list[Finding] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    case: dict[str, Any] | None = None  # the case it became, or why it could not

    @property
    def verdict(self) -> str:
        """The findings' verdict; ``pass`` only where the pass fired and its numerics were
        measured, or it did not fire; ``not run`` where it fired and no interpreter ran it."""
        if self.findings:
            return verdict_of(self.findings).value
        return "not run" if self.numerics_result.startswith("not run") else "pass"

    @property
    def numerics_result(self) -> str:
        """``agree``, ``differ`` or ``not run: <why>`` where the pass fired; ``-`` where it
        did not (nothing to compare). The one place a call's numerics are summed up."""
        if not self.fired:
            return "-"
        if any(f.kind in (Kind.HELION_MISMATCH, Kind.HELION_CRASH) for f in self.findings):
            return "differ"
        if "interpreter" not in self.numerics:
            return self.numerics.get("run", "not run: not attempted")
        return "agree"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "kernel": self.kernel,
            "entry": self.entry,
            "config": self.config,
            "status": "checked",
            "verdict": self.verdict,
            "fired": self.fired,
            "decisions": self.decisions,
            "diff": self.diff,
            "sources": self.sources,
            "numerics": self.numerics,
            "numerics_result": self.numerics_result,
            "compiles": self.compiles,
            "gate": self.gate,
            "findings": [f.to_json() for f in self.findings],
            "seconds": self.seconds,
            "case": self.case,
        }


def judge_call(
    call: Call, file: str, name: str, generations: Sequence[str], judged_gens: Sequence[str] | None
) -> tuple[Judged, dict[str, Any]]:
    """Judge ``call``; also what :mod:`.to_case` reads of the pass-on bind: its fx graphs with
    their dims (``graphs``) and the config's block size per block id (``blocks``). Raises
    where the kernel does not bind here at all (the caller's "skipped")."""
    out = Judged(file, name, call.entry, str(call.config))
    structure: dict[str, Any] = {}
    with measured() as seconds:
        _judge(out, structure, call, generations, judged_gens)
    for stage_name, spent in seconds.items():
        out.seconds[SECONDS[stage_name]] = out.seconds.get(SECONDS[stage_name], 0.0) + spent
    return out, structure


def _judge(
    out: Judged, structure: dict[str, Any], call: Call, generations: Sequence[str], judged_gens: Sequence[str] | None
) -> None:
    binds = bind_modes(functools.partial(_bind, call))
    if "off" in binds.failed:
        raise binds.failed["off"]
    if "on" in binds.failed:  # the pass-off kernel binds: the pass broke it
        out.sources = {"off": binds.bound["off"].pallas}
        out.findings.append(
            Finding(Kind.HELION_CRASH, Stage.COMPILE, "helion-on", helion.first_line(binds.failed["on"]))
        )
        return
    on, off = binds.bound["on"], binds.bound["off"]
    out.decisions = [vars(d) for d in on.loads]
    structure["graphs"] = on.graphs
    out.fired = not binds.shared("off") and on.pallas != off.pallas  # shared: the pass deferred nothing
    out.sources = {"on": on.pallas, **({"off": off.pallas} if out.fired else {})}
    if not out.fired:
        return
    try:
        structure["blocks"] = block_sizes(on.kernel, call.config)
    except Exception as e:  # Helion's config API, read from outside: the case says why it is missing
        structure["blocks_unread"] = helion.first_line(e)
    out.diff = "".join(
        difflib.unified_diff(
            off.pallas.splitlines(keepends=True), on.pallas.splitlines(keepends=True), "pass off", "pass on"
        )
    )
    _numerics(out, call, binds)
    if generations:
        _compile(out, call, generations, judged_gens)


def _bind(call: Call, mode: str) -> Bound:
    """A fresh copy of the call's kernel bound on its arguments with the pass ``mode``."""
    with pass_mode(mode) as decided:
        bound = copy_kernel(call.kernel).bind(clone(call.args))
        pallas = bound.to_code(call.config)
    return Bound(mode, decided.loads, pallas, functools.partial(_launch, bound, call), bound, decided.graphs)


def _launch(bound: Any, call: Call) -> Any:
    """``bound`` with the call's config on a copy of its arguments."""
    return bound.compile_config(call.config)(*clone(call.args))


def block_sizes(bound: Any, config: Any) -> dict[int, int]:
    """Block id -> the block size ``config`` gives it, in ``bound``'s compile environment
    (``config`` as a file wrote it, ``block_size=16`` included, normalized as Helion does)."""
    sizes = {}
    config = bound.config_spec.normalized_config(config)
    with bound.env:
        for info in bound.env.block_sizes:
            size = info.from_config(config)
            if isinstance(size, int):
                sizes[info.block_id] = size
    return sizes


def _interpreter(name: str) -> Any:
    return helion_patches.tpu_interpret() if name == "TPU interpret" else contextlib.nullcontext()


def _run(out: Judged, bound: Bound, poisoned: bool) -> Any:
    """``bound`` launched (poisoned past the end of its inputs), what poison reached said."""
    result, padded = run_kernel(bound.launch, poisoned)
    if poisoned:
        out.numerics["poison"] = (
            f"{len(padded)} inputs padded with NaN past their end"
            if padded
            else "no input was padded past its end (poison had nothing to reach)"
        )
    return result


def _numerics(out: Judged, call: Call, binds: Binds) -> None:
    """Both kernels on the file's inputs and on poisoned ones, in the first interpreter that
    runs the pass-off kernel (see the module)."""
    bound = binds.bound
    failures = []
    for interpreter in INTERPRETERS:
        try:
            with _interpreter(interpreter):
                clean = {"off": _run(out, bound["off"], False)}
        except Exception as e:  # this interpreter cannot run the kernel at all: the next one
            failures.append(f"{interpreter} mode: {helion.first_line(e)}")
            out.numerics[f"{interpreter} mode"] = f"cannot run the pass-off kernel: {helion.first_line(e)}"
            continue
        out.numerics["interpreter"] = interpreter
        try:
            with _interpreter(interpreter):
                clean["on"] = _run(out, bound["on"], False)
                poisoned = {m: _run(out, bound[m], True) for m in MODES}
        except Exception as e:  # the pass-off kernel ran here: the pass broke it
            out.findings.append(Finding(Kind.HELION_CRASH, Stage.EXECUTE, "helion-on", helion.first_line(e)))
            out.numerics["run"] = f"Helion's pass-on kernel failed to run in {interpreter} mode (helion-crash)"
            return
        _compare(out, call, clean, poisoned)
        return
    out.numerics["run"] = "not run: Helion's pass-off kernel fails in " + "; in ".join(failures)


def _compare(out: Judged, call: Call, clean: dict[str, Any], poisoned: dict[str, Any]) -> None:
    """The two kernels' clean and poisoned results against each other and the file's reference."""
    between = tolerance(clean["off"], None, BETWEEN_VARIANTS)
    on_vs_off = difference(clean["off"], clean["on"], *between)
    out.numerics["on vs off"] = str(on_vs_off)
    wrong: list[str] = []
    off_wrong = None
    if call.reference is not None:
        tol = tolerance(call.reference, call.tolerance, DEFAULT_TOLERANCE)
        per_mode = {m: difference(call.reference, clean[m], *tol) for m in MODES}
        out.numerics.update({f"{m} vs reference": str(d) for m, d in per_mode.items()})
        if per_mode["off"].agrees and not per_mode["on"].agrees:
            wrong.append(f"pass on disagrees with the file's reference, pass off agrees: {per_mode['on']}")
        elif not per_mode["off"].agrees:  # Helion's eager baseline, whatever the pass did
            off_wrong = f"Helion with its pass off disagrees with the file's reference: {per_mode['off']}"
    elif not on_vs_off.agrees:
        wrong.append(f"pass on and pass off disagree on the file's inputs: {on_vs_off}")
    # under poison, each kernel against its own clean run, on the elements both clean runs define
    leaks = poison_reached(clean, poisoned, *between)
    out.numerics.update({f"{m} poisoned vs clean": str(leaks[m]) for m in MODES})
    if not leaks["only on"].agrees:
        wrong.append(f"poison reached the pass-on kernel's result where not the pass-off one's: {leaks['only on']}")
    out.findings += mismatches(off_wrong, "; ".join(wrong) or None)


def _compile(out: Judged, call: Call, generations: Sequence[str], judged_gens: Sequence[str] | None) -> None:
    """Both kernels of a call where the pass fired through the TPU compiler; with
    ``judged_gens``, the gate audit on those generations."""
    gens = tuple(dict.fromkeys((*generations, *(audited(judged_gens) if judged_gens is not None else ()))))
    build: Build = functools.cache(functools.partial(_build, call))
    compiled = compile_modes(build, gens, MODES)
    unbuilt = {m: build(m).failure for m in MODES if build(m).failure is not None}
    if unbuilt:  # the harness could not build it: no compiler saw it, so nothing is judged
        out.compiles = {
            gen: {m: _not_built(unbuilt[m]) if m in unbuilt else _compiled_json(compiled[m][gen]) for m in MODES}
            for gen in generations
        }
        return
    out.compiles, findings = helion_compiles(compiled, generations)
    out.findings += findings
    if judged_gens is not None and gate_unavailable() is None:
        record = audit_gate(build, lambda: PATTERN, judged_gens)
        out.gate = record.to_json() if record else None
        out.findings += record.findings if record else []


def _build(call: Call, mode: str) -> helion_tpu.Built:
    return helion_tpu.build_call(call.kernel, clone(call.args), call.config, mode)


def _not_built(failure: str) -> dict[str, Any]:
    """A kernel Helion's launcher did not build here: ``ok`` None, not a rejection."""
    return {"ok": None, "bundles": None, "message": f"not run: {failure}"}


def _compiled_json(c: Any) -> dict[str, Any]:
    return {"ok": c.ok, "bundles": c.bundles, "message": c.message}
