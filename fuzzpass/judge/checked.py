"""One case checked as a run checks it: under a :class:`Config`, into a small record.

This is the unit every consumer of checks shares: a fuzz worker sends a :class:`Checked` to
its parent, the minimizer asks whether a smaller case still fails the same way, an exported
regression test asks whether it still holds. An exception escaping the check becomes a
``crash`` report here, so no caller has to guard against one.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fuzzpass.backends import backend
from fuzzpass.backends.helions import Helion
from fuzzpass.core import profile
from fuzzpass.core.case import Case
from fuzzpass.judge.candidate import Candidate, under_test
from fuzzpass.judge.check import check_case
from fuzzpass.judge.signature import Signature, pattern, rule, signature
from reference.gates import DEFAULT as DEFAULT_GATE


@dataclass(frozen=True, kw_only=True)
class Config:
    """What a run checks and how: the same for every worker. Fields by name only: a field
    added in the middle once shifted ``fuzzpass run``'s corpus seeds into another field."""

    policy: str = "mixed"
    backend: str = "interpret"
    poison: str = "nan"
    mutant: str | None = None
    generations: tuple[str, ...] | None = None
    seed: int = 0
    gate: tuple[str, ...] | None = None  # audit the gate, judging these generations (``--check-gate``)
    candidate: Candidate | None = None  # ``--pass FILE.py:NAME``: the pass under test instead of the reference
    gate_rule: str = DEFAULT_GATE  # ``--gate``: the reference pass's profitability gate (``reference.gates``)
    seeds: tuple[str, ...] = ()
    """Seed cases' texts (the corpus's ``seeds``: real kernels' structures, ``fuzzpass corpus``):
    every other segment of an explorer mutates one of them instead of drawing a structure."""
    check_forced: bool = False
    """Without ``gate``: the forced kernel of the pass under test checked too, where it is not
    the reference's (``fuzzpass mutants``: what the gate audit adds, without its compiles)."""
    baseline: Helion | None = None
    """``--helion-baseline``: the Helion every expressible case is checked by too, and compared
    with (``judge.helion_baseline``)."""

    @property
    def pass_label(self) -> str | None:
        """What replaced the reference pass, for titles: a mutant's name or a candidate's file."""
        return self.candidate.label if self.candidate else self.mutant

    @property
    def compiles_for_tpu(self) -> bool:
        """Whether cases meet the TPU compiler (so only structures it can build are drawn)."""
        return backend(self.backend).compiles_for_tpu or self.gate is not None


@dataclass
class Checked:
    """One checked case, small and picklable: what a worker sends its parent."""

    case: str  # the case file text
    verdict: str
    signature: Signature | None
    report: dict[str, Any]  # CheckResult.to_json(), plus the generator's oracle reasons
    seconds: float
    shrinking: bool = False  # checked while Hypothesis shrank a finding: not a drawn case

    @property
    def signatures(self) -> list[Signature]:
        """Every finding's signature: the verdict's, then those of :meth:`gate_findings`."""
        return [s for s in (self.signature, *(g.signature for g in self.gate_findings())) if s is not None]

    def gate_findings(self) -> list[Checked]:
        """``gate`` and ``helion-gate`` findings the verdict's signature does not name, each as
        a finding of its own: those behind a more severe verdict (a mutant that moves the mask
        the slow way is a ``decision`` finding first), and those of the other generations
        judged."""
        if self.signature is None:
            return []
        found = []
        for f in self.report["findings"]:
            if f["kind"] in ("gate", "helion-gate"):
                report = dict(self.report, verdict=f["kind"], findings=[f])
                sig = Signature(f["kind"], rule(report), self.signature.pattern)
                if sig != self.signature:
                    found.append(replace(self, verdict=f["kind"], signature=sig, report=report))
        return found


def check(case: Case, config: Config, oracle: dict[str, dict[str, str]] | None = None) -> Checked:
    """Check one case as ``config`` says; an exception escaping the check is kept as a
    ``crash`` finding at stage ``harness`` (a fuzzpass bug), so the run goes on."""
    start = time.perf_counter()
    try:
        result = check_case(
            case,
            backend=config.backend,
            poison=config.poison,
            generations=config.generations,
            mutant=under_test(config.mutant, config.candidate),
            gate=config.gate,
            gate_rule=config.gate_rule,
            forced=config.check_forced,
        )
        report = result.to_json()
        if config.baseline is not None and report.get("helion"):
            against_baseline(case, config, report)
    except Exception as e:
        last = traceback.extract_tb(e.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        message = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''} (at {where})"
        report = unchecked_report(case, "crash", "harness", message)
    if oracle is not None:
        report["oracle"] = oracle
    report["mutant"] = config.mutant
    report["pass"] = config.candidate.to_json() if config.candidate else None
    report["gate_rule"] = config.gate_rule
    report["stages"] = profile.take()
    return Checked(case.dumps(), report["verdict"], signature(report, case.spec), report, time.perf_counter() - start)


def against_baseline(case: Case, config: Config, report: dict[str, Any]) -> None:
    """``report`` (the Helion under test) beside the baseline Helion's check of ``case``."""
    from fuzzpass.backends import helions
    from fuzzpass.judge import helion_baseline

    assert config.baseline is not None
    settings = helion_baseline.Settings(config.poison, config.generations, config.gate, config.gate_rule)
    child = helion_baseline.baseline_for(config.baseline.env(), config.baseline.label, settings)
    with profile.stage("helion-baseline"):
        theirs = child.report(case)
    helion_baseline.compare(report, theirs, helions.label(), config.baseline.label)
    report["helion_baseline"]["pattern"] = pattern(case.spec)
    report["helion_baseline"]["source"] = config.baseline.to_json()


def unchecked_report(case: Case, kind: str, stage: str, message: str) -> dict[str, Any]:
    """The report of a case whose check never finished (a harness exception, a worker that
    hung or died): one finding, no decisions, no numerics."""
    return {
        "case": case.name,
        "seed": case.seed,
        "verdict": kind,
        "deferred": {},
        "expected": None,
        "reasons": {},
        "findings": [{"kind": kind, "stage": stage, "variant": None, "message": message}],
    }
