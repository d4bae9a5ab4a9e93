"""``--helion-baseline``: every expressible case checked by a second Helion too, and compared.

Two Helions cannot share a process (both are the package ``helion``), so the baseline runs in
a child process of each worker (:class:`BaselineHelion`, started on first use), which imports
the baseline Helion and checks each case it is sent exactly as the worker checks it with the
Helion under test: the same case, so the same data (drawn from the case's seed), the same
reference (with the rules of the baseline's own Helion), the same judge.

:func:`compare` then sets Helion's findings side by side. One the Helion under test has and
the baseline has not (a crash, a mismatch, a lost deferral, a kernel Mosaic now rejects) is a
``helion-regression`` finding naming both versions; one the baseline has and the Helion under
test has not is *fixed*: recorded in the report, counted by the run, never a finding. A
baseline that could not check the case (it died, or cannot state it) is ``not run`` with its
reason, and the Helion under test's findings stand as they are.

The child is a worker process of ``core/workers`` (:class:`~fuzzpass.core.workers.processes.Child`)
running :func:`checker`, used by itself: one case sent, its report read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fuzzpass.core.case import Case, parse_case
from fuzzpass.core.workers.messages import Done, Handler, Ready, Reply, Said
from fuzzpass.core.workers.processes import Child
from fuzzpass.judge.verdict import Finding, Kind, Regression, Stage, verdict_of

HELION_KINDS = frozenset(
    {Kind.HELION_CRASH, Kind.HELION_DECISION, Kind.HELION_MISMATCH, Kind.HELION_COMPILE, Kind.HELION_GATE}
)
"""Helion's own findings: what a release can break or fix."""


@dataclass(frozen=True)
class Settings:
    """How the child checks a case: the worker's own settings for the Helion backend."""

    poison: str
    generations: tuple[str, ...] | None
    gate: tuple[str, ...] | None
    gate_rule: str

    def to_json(self) -> dict[str, Any]:
        return {"poison": self.poison, "generations": self.generations, "gate": self.gate, "gate_rule": self.gate_rule}


class BaselineHelion:
    """The baseline Helion in a child process: :meth:`report` checks one case there."""

    def __init__(self, env: dict[str, str], label: str, settings: Settings) -> None:
        self.env, self.label, self.settings = env, label, settings
        self.child: Child | None = None
        self.broken: str | None = None

    def _start(self) -> Child:
        child = Child(checker, self.settings, self.env, stderr=None)  # its output goes where this worker's goes
        if not isinstance(child.next(), Ready):
            child.kill()
            raise RuntimeError(f"the baseline Helion {self.label} did not start (its output is in this log)")
        return child

    def report(self, case: Case) -> dict[str, Any] | str:
        """The baseline's report on ``case``, or why it has none (one line)."""
        if self.broken:
            return self.broken
        try:
            if self.child is None or self.child.proc.poll() is not None:
                self.child = self._start()
            self.child.give(case.dumps())
            report: dict[str, Any] | str = f"the baseline Helion {self.label} died checking it"
            while isinstance(message := self.child.next(), Said):
                report = message.event
            return report if isinstance(message, Done) else f"the baseline Helion {self.label} died checking it"
        except (OSError, RuntimeError, ValueError) as e:
            self.broken = f"the baseline Helion {self.label} cannot run: {e}"
            return self.broken


_BASELINES: dict[tuple[str, ...], BaselineHelion] = {}


def baseline_for(env: dict[str, str], label: str, settings: Settings) -> BaselineHelion:
    """This process's child for that baseline (one per worker, kept for the worker's life)."""
    key = (*sorted(env.items()), label, json.dumps(settings.to_json()))
    if key not in _BASELINES:
        _BASELINES[key] = BaselineHelion(env, label, settings)
    return _BASELINES[key]


def same_failure(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two Helion findings are the same failure: kind, variant, stage and (a compile or gate
    finding) the generation it names."""
    if (a["kind"], a["variant"], a["stage"]) != (b["kind"], b["variant"], b["stage"]):
        return False
    if a["kind"] in (Kind.HELION_COMPILE.value, Kind.HELION_GATE.value):
        return a["message"].split(":")[0] == b["message"].split(":")[0]
    return True


def compare(report: dict[str, Any], baseline: dict[str, Any] | str, under: str, label: str) -> None:
    """Set ``report`` (the Helion under test, called ``under``) beside ``baseline`` (the
    baseline's report, called ``label``, or why there is none): ``helion-regression`` findings
    into ``report``, and ``report["helion_baseline"]`` saying what was compared and what was fixed."""
    kinds = {k.value for k in HELION_KINDS}
    if isinstance(baseline, str) or baseline["verdict"] in ("inexpressible", "invalid"):
        why = baseline if isinstance(baseline, str) else f"{label}: {baseline['findings'][0]['message']}"
        report["helion_baseline"] = {"helion": label, "verdict": f"not run: {why}", "fixed": [], "regressed": []}
        return
    ours = [f for f in report["findings"] if f["kind"] in kinds]
    theirs = [f for f in baseline["findings"] if f["kind"] in kinds]
    regressed = [f for f in ours if not any(same_failure(f, t) for t in theirs)]
    fixed = [t for t in theirs if not any(same_failure(t, f) for f in ours)]
    for f in regressed:
        message = Regression(f["kind"], label, under, f["message"]).text()
        report["findings"].append(Finding(Kind.HELION_REGRESSION, Stage(f["stage"]), f["variant"], message).to_json())
    report["verdict"] = verdict_of([Finding.from_json(f) for f in report["findings"]]).value
    report["helion_baseline"] = {
        "helion": label,
        "verdict": baseline["verdict"],
        "fixed": fixed,
        "regressed": regressed,
        "deferred": (baseline.get("helion") or {}).get("deferred"),
    }


def checker(settings: Settings) -> Handler:
    """The child: the baseline Helion imported (the child's environment puts it first), JAX
    started; its handler checks one case's text and says its report (or why there is none)."""
    from fuzzpass.backends.environment import start_jax
    from fuzzpass.judge.check import check_case

    start_jax("helion")

    def handle(text: str, reply: Reply) -> None:
        case = parse_case(json.loads(text))
        try:
            result = check_case(
                case,
                backend="helion",
                poison=settings.poison,
                generations=settings.generations,
                gate=settings.gate,
                gate_rule=settings.gate_rule,
            )
            reply.say(json.loads(json.dumps(result.to_json(), default=str)))  # as a report file holds it
        except Exception as e:  # the worker's harness-crash finding covers ours; here: no baseline
            reply.say(f"the baseline's check raised {type(e).__name__}: {e}")

    return handle
