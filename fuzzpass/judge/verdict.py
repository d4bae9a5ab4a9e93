"""Verdicts: what a check found (kind) and where it happened (stage).

Three things are kept apart (NNSmith's lesson): an invalid case is the user's input error
(exit 2), a finding is a defect in a variant or the pass (exit 1), and a harness bug is an
exception that escapes (a traceback, never dressed up as a finding).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    PASS = "pass"
    MISMATCH = "mismatch"  # the deferred variant is wrong, the eager one right
    BASELINE_MISMATCH = "baseline-mismatch"  # the eager variant is wrong (codegen without the pass)
    NONFINITE_LEAK = "nonfinite-leak"  # the deferred variant leaks NaN/Inf the eager one did not
    DECISION = "decision"  # the pass decided other than ``expect``
    UNDISCHARGED = "undischarged"  # a deferred tile's mask is applied by no mask the pass recorded for it
    CRASH = "crash"  # a kernel failed to build or run
    COMPILE = "compile"  # on one TPU generation, the TPU compiler rejected one variant and not the other
    TPU_UNSUPPORTED = "tpu-unsupported"  # Mosaic rejects both variants alike: a limit of codegen, not the pass
    GATE = "gate"  # on a TPU generation's static schedule, the pass's choice costs more than the other
    TIMEOUT = "timeout"  # a check ran past ``fuzzpass run``'s per-case limit (its worker was replaced)
    HELION_CRASH = "helion-crash"  # production Helion failed to compile or run the case's kernel
    HELION_DECISION = "helion-decision"  # Helion's pass decided other than the reference
    HELION_MISMATCH = "helion-mismatch"  # a Helion kernel disagrees with the float64 ground truth
    HELION_COMPILE = "helion-compile"  # on a TPU generation, Mosaic rejects one of Helion's kernels (on/off)
    HELION_TPU_UNSUPPORTED = "helion-tpu-unsupported"  # Mosaic rejects both of Helion's kernels alike
    HELION_GATE = "helion-gate"  # on a TPU generation's static schedule, Helion's choice costs more than the other
    HELION_REGRESSION = "helion-regression"  # a Helion finding the baseline Helion has not (``--helion-baseline``)
    INEXPRESSIBLE = "inexpressible"  # Helion's language cannot state the case: nothing to compare
    BASELINE_UNSTATED = "baseline-unstated"  # the eager kernel misses a meaning no positional mask states
    HELION_KNOWN = "helion-known"  # the eager kernel is wrong by a documented bug of Helion's rules, modelled
    INVALID = "invalid"  # the case file or command line

    @property
    def exit_code(self) -> int:
        """0: the case holds, or (``inexpressible``, ``tpu-unsupported``) there was nothing
        to compare, as a test runner's "unsupported"; 2: bad input; 1: a defect."""
        return 0 if self in UNSUPPORTED or self is Kind.PASS else 2 if self is Kind.INVALID else 1

    @property
    def is_defect(self) -> bool:
        return self not in (Kind.PASS, Kind.INVALID, *UNSUPPORTED)


UNSUPPORTED = frozenset(
    {Kind.INEXPRESSIBLE, Kind.BASELINE_UNSTATED, Kind.HELION_KNOWN, Kind.TPU_UNSUPPORTED, Kind.HELION_TPU_UNSUPPORTED}
)
"""What a check could not compare (a test runner's "unsupported"): exit 0, counted, never a
finding. Each names whose limit it is: Helion's language; the case model's (a reshape that
regroups a tile's rows moves validity where no positional mask, ours or Helion's, can follow,
so an eager kernel that misses the ground truth there is nobody's bug); Helion's, for a bug of
its rules beside the pass that ``docs/helion.md`` documents with a repro and the reference
models as Helion has it (``helion-known``: counted, never filed again); our codegen or Mosaic;
Helion's TPU codegen."""


class Stage(Enum):
    VALIDATE = "validate"
    TRANSLATE = "translate"  # the case written as a Helion kernel
    DECIDE = "decide"
    CODEGEN = "codegen"
    COMPILE = "compile"
    EXECUTE = "execute"
    VERIFY = "verify"
    HARNESS = "harness"  # an exception escaped the check itself: a fuzzpass bug, kept as a finding in a run
    WORKER = "worker"  # a ``fuzzpass run`` worker process died or hung mid-case


@dataclass(frozen=True)
class Finding:
    """One defect: its kind, stage, the variant involved (if any) and a one-line message."""

    kind: Kind
    stage: Stage
    variant: str | None
    message: str

    def to_json(self) -> dict[str, str | None]:
        return {"kind": self.kind.value, "stage": self.stage.value, "variant": self.variant, "message": self.message}

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> Finding:
        return cls(Kind(data["kind"]), Stage(data["stage"]), data["variant"], str(data["message"]))


@dataclass(frozen=True)
class Regression:
    """What a ``helion-regression`` finding's message says, written and read only here:
    ``<kind>, right in <baseline>, wrong in <under test>: <the regressed finding's message>``."""

    kind: str
    right_in: str
    wrong_in: str
    message: str

    @property
    def versions(self) -> str:
        return f"right in {self.right_in}, wrong in {self.wrong_in}"

    def text(self) -> str:
        return f"{self.kind}, {self.versions}: {self.message}"

    @classmethod
    def parse(cls, text: str) -> Regression:
        head, _, message = text.partition(": ")
        kind, _, versions = head.partition(", right in ")
        right_in, _, wrong_in = versions.partition(", wrong in ")
        return cls(kind, right_in, wrong_in, message)


SEVERITY = (
    Kind.INVALID,
    Kind.TIMEOUT,
    Kind.CRASH,
    Kind.COMPILE,
    Kind.DECISION,
    Kind.BASELINE_MISMATCH,
    Kind.NONFINITE_LEAK,
    Kind.MISMATCH,
    Kind.HELION_REGRESSION,
    Kind.HELION_CRASH,
    Kind.HELION_DECISION,
    Kind.HELION_MISMATCH,
    Kind.HELION_COMPILE,
    Kind.UNDISCHARGED,
    Kind.GATE,
    Kind.HELION_GATE,
    Kind.INEXPRESSIBLE,
    Kind.BASELINE_UNSTATED,
    Kind.HELION_KNOWN,
    Kind.TPU_UNSUPPORTED,
    Kind.HELION_TPU_UNSUPPORTED,
)
"""When several findings come from one check, the verdict names the first in this order:
a crash hides numerics, a wrong decision explains a wrong number, and a broken baseline is
reported apart from what the pass broke. Helion's findings come after the reference's own:
a broken reference is not evidence against Helion. A tile left undischarged (the pass's record
against the graph) comes after every number: where the numbers are wrong they say so plainly,
and where they are right (the VMEM tail the record protects is not stale here) it still kills.
The two kinds that are no defect come last:
a case Mosaic cannot build still has its numerics judged in interpret mode."""


def verdict_of(findings: list[Finding]) -> Kind:
    kinds = {f.kind for f in findings}
    return next((k for k in SEVERITY if k in kinds), Kind.PASS)
