"""One Helion judge, for a generated case (``judge/helion_check.py``) and for a real kernel's
recorded call (``kernels/judge.py``).

Both bind one kernel with Helion's pass on and off, run both kernels, say whose fault a wrong
number is, compile both for TPU generations and audit Helion's gate. What differs is thin and
stays with each: how a kernel is bound and built (a case's source and data, or a call's kernel,
arguments and config), what its numbers are compared with (a case's float64 ground truth, or
the file's own reference and the other kernel, clean and poisoned), and what a case alone has
(the reference pass's decisions to agree with). The steps here:

- :func:`bind_modes`: the pass on, then off; where the pass deferred no load's mask it changed
  nothing, so the pass-off kernel is the pass-on one and is not bound again.
- :func:`run_kernel`: one kernel launched, where asked with NaN past the end of every input
  (``helion_patches.poisoned_padding``).
- :func:`mismatches`: the pass-off kernel wrong is Helion's eager baseline's (``helion-off``),
  whatever the pass did; the pass-on kernel wrong where the baseline is not is ``helion-on``.
- :func:`compile_modes`: both kernels through the TPU compiler per generation, deviceless
  (``backends.helion_tpu``); whose fault a rejection is: ``judge.rejections.helion_compiles``.
- :func:`audit_gate`: Helion's three kernels (pass off, on, and forced past its gate) on the
  static schedules of every generation, as ``judge/gate.py`` audits the reference's: a
  :class:`~fuzzpass.judge.gate.GateRecord` ``by`` Helion, ``helion-gate`` findings.

Each step's time goes to ``core.profile.stage`` under its name (:data:`STAGES`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from fuzzpass.backends import helion_patches, helion_tpu, tpu_aot
from fuzzpass.backends.helion_bind import Bound
from fuzzpass.backends.helion_decisions import MODES, defers
from fuzzpass.core import profile
from fuzzpass.core.profile import stage
from fuzzpass.judge.gate import GateRecord, audited
from fuzzpass.judge.verdict import Finding, Kind, Stage

STAGES = ("helion-bind", "helion", "helion-tpu-compile", "helion-gate-audit")
"""The profile's stages of a Helion judgement: binding, running, compiling, the gate audit."""

KERNELS = {"eager": "off", "deferred": "on", "forced": "force"}
"""The gate record's variant names and the Helion pass mode that builds each."""

Build = Callable[[str], helion_tpu.Built]
"""A kernel as Helion's launcher builds it for a TPU with its pass in a mode (cached by the
adapter: a mode is built once)."""


@dataclass
class Binds:
    """Both pass modes bound: each mode's :class:`Bound` (``off`` the very ``on`` one where the
    pass deferred nothing), or the exception Helion raised binding it."""

    bound: dict[str, Bound] = field(default_factory=dict)
    failed: dict[str, Exception] = field(default_factory=dict)

    def shared(self, mode: str) -> bool:
        """Whether ``mode``'s kernel is another mode's (the pass changed nothing)."""
        return mode == "off" and "on" in self.bound and self.bound.get("off") is self.bound["on"]


def bind_modes(bind: Callable[[str], Bound]) -> Binds:
    """``bind`` with the pass on, then off (see the module)."""
    helion_patches.compile_once_per_shape()
    binds = Binds()
    for mode in MODES:
        on = binds.bound.get("on")
        if mode == "off" and on is not None and not defers(on.loads):
            binds.bound["off"] = on
            continue
        try:
            with stage("helion-bind"):
                binds.bound[mode] = bind(mode)
        except Exception as e:  # the adapter says what Helion's failure to bind is
            binds.failed[mode] = e
    return binds


def run_kernel(launch: Callable[[], Any], poisoned: bool = False) -> tuple[Any, list[tuple[int, ...]]]:
    """``launch()``'s result, and the shapes of the inputs Helion's launcher padded with NaN
    past their end where ``poisoned`` (none: poison reached nothing)."""
    padding = helion_patches.poisoned_padding() if poisoned else nullcontext([])
    with stage("helion"), padding as padded:
        return launch(), padded


def mismatches(off_wrong: str | None, on_wrong: str | None) -> list[Finding]:
    """The ``helion-mismatch`` findings of what is wrong with each kernel's numbers (None:
    nothing), as the adapter measured it against its truth."""
    wrong = {"helion-off": off_wrong, "helion-on": on_wrong}
    return [Finding(Kind.HELION_MISMATCH, Stage.VERIFY, variant, why) for variant, why in wrong.items() if why]


def compile_modes(
    build: Build, generations: tuple[str, ...], modes: tuple[str, ...] = MODES
) -> dict[str, dict[str, tpu_aot.Compiled]]:
    """Both kernels compiled per generation (mode -> generation -> ``tpu_aot.Compiled``), in
    the order of ``modes``; a kernel not built is a rejection on each generation."""
    with stage("helion-tpu-compile"):
        return {mode: helion_tpu.compile_built(build(mode), generations) for mode in modes}


def gate_unavailable() -> str | None:
    """Why Helion's gate cannot be audited here: no TPU compiler for its kernels, or a gate
    that cannot be bypassed (``helion_patches.gate_unavailable``)."""
    return helion_tpu.unavailable() or helion_patches.gate_unavailable()


def audit_gate(build: Build, pattern: Callable[[], dict[str, Any]], judged: Sequence[str]) -> GateRecord | None:
    """Helion's three kernels (:data:`KERNELS`) compiled for each generation of ``judged``
    (``gate.audited``: what the audit judges is what it compiles); its choice is the
    pass-on kernel's, the other choice the pass-off kernel (it deferred) or the forced one (it
    kept the masks); ``helion-gate`` findings for the generations of ``judged``. None where the
    forced kernel defers nothing: there was no choice to make. ``pattern``: what the record is
    filed under (``gate-report`` groups by it)."""
    with stage("helion-gate-audit"):
        if not build("force").defers:
            return None
        record = GateRecord(pattern(), "defer" if build("on").defers else "keep", by="helion")
        gens = audited(judged)
        compiled = {name: helion_tpu.compile_built(build(mode), gens) for name, mode in KERNELS.items()}
        for gen in gens:
            record.add(gen, {name: per_gen[gen] for name, per_gen in compiled.items()})
        record.judge(judged, Kind.HELION_GATE, "helion-on")
        return record


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    """The seconds of the block's :data:`STAGES`, in the dict it yields (filled at its end).
    The process's profile keeps counting them, and what it held before."""
    before = profile.take()
    seconds: dict[str, float] = {}
    try:
        yield seconds
    finally:
        during = profile.take()
        seconds.update({name: s for name, s in during.items() if name in STAGES})
        for totals in (before, during):
            for name, s in totals.items():
                profile.add(name, s)
