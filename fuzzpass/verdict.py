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
    CRASH = "crash"  # a kernel failed to build or run
    COMPILE = "compile"  # the TPU compiler rejected a kernel
    GATE = "gate"  # on a TPU generation's static schedule, the pass's choice costs more than the other
    TIMEOUT = "timeout"  # a check ran past ``fuzzpass run``'s per-case limit (its worker was replaced)
    INVALID = "invalid"  # the case file or command line

    @property
    def exit_code(self) -> int:
        return {Kind.PASS: 0, Kind.INVALID: 2}.get(self, 1)


class Stage(Enum):
    VALIDATE = "validate"
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


SEVERITY = (
    Kind.INVALID,
    Kind.TIMEOUT,
    Kind.CRASH,
    Kind.COMPILE,
    Kind.DECISION,
    Kind.BASELINE_MISMATCH,
    Kind.NONFINITE_LEAK,
    Kind.MISMATCH,
    Kind.GATE,
)
"""When several findings come from one check, the verdict names the first in this order:
a crash hides numerics, a wrong decision explains a wrong number, and a broken baseline is
reported apart from what the pass broke."""


def verdict_of(findings: list[Finding]) -> Kind:
    kinds = {f.kind for f in findings}
    return next((k for k in SEVERITY if k in kinds), Kind.PASS)
