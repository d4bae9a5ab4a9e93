"""What makes two findings the same finding: verdict kind, the rule involved, the op pattern.

A fuzz run meets one bug many times; it keeps the first case of each signature and counts the
rest. The rule is what the pass or the kernel got wrong, in the pass's own terms (a decision
and its reason, the variant that went wrong, an exception type, a compiler message with its
numbers blanked). The pattern is the graph's op kinds in order of first appearance, without
the loads and stores every graph has, so that two permute chains of different lengths in front
of the same consumer are one finding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from fuzzpass.judge.verdict import Kind, Regression
from reference.spec import KernelSpec


@dataclass(frozen=True, order=True)
class Signature:
    kind: str
    rule: str
    pattern: str

    def __str__(self) -> str:
        return f"{self.kind} | {self.rule} | {self.pattern}"

    @property
    def slug(self) -> str:
        """A directory name: readable, filesystem-safe and unique per signature."""
        digest = hashlib.sha1(str(self).encode()).hexdigest()[:8]
        words = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.kind}-{self.rule}-{self.pattern}").strip("-")[:80]
        return f"{words}-{digest}"

    @property
    def blames_pass(self) -> bool:
        """Whether the pass (or a mutant of it) is at fault: a decision, a deferred tile left
        undischarged, the numbers of the deferred variant or of a kernel the gate audit built (the
        forced variant, a gate's choice), or a crash or TPU compile rejection of the
        deferred variant alone."""
        return (
            self.kind in ("decision", "undischarged", "mismatch", "nonfinite-leak", "helion-decision")
            or (self.kind in ("crash", "compile") and "/deferred:" in self.rule)
            or (self.kind == "helion-compile" and "/helion-on:" in self.rule)
        )

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "rule": self.rule, "pattern": self.pattern}


def blank_numbers(message: str) -> str:
    """``message`` with every number as ``#``: two rejections or crashes that differ only in
    shapes, sizes or line numbers say the same thing."""
    return re.sub(r"[0-9]+", "#", message)


def crash_words(message: str) -> str:
    """A crash's message without its details (parenthesised asides, what it got, numbers):
    two crashes that say the same thing of different shapes are one."""
    while re.search(r"\([^()]*\)", message):
        message = re.sub(r" ?\([^()]*\)", "", message)
    return blank_numbers(message.split(", got")[0])


def pattern(spec: KernelSpec) -> str:
    """The op kinds of ``spec`` in order of first appearance, loads and stores left out."""
    kinds = dict.fromkeys(n.op for n in spec.graph if n.op not in ("load", "store"))
    return ">".join(kinds) or "load>store"


def rule(report: dict[str, Any]) -> str:
    """The rule involved in a check's verdict, from its JSON report (``CheckResult.to_json``)."""
    verdict = report["verdict"]
    finding = next((f for f in report["findings"] if f["kind"] == verdict), None)
    if verdict == "decision" and finding and finding["variant"] not in (None, "deferred"):
        return f"{finding['variant']} variant"  # the forced kernel's choice against the rules
    if verdict == "decision":
        expected, got, reasons = report["expected"] or {}, report["deferred"], report["reasons"]
        wrong = set()
        for load, tiles in reasons.items():
            for tile, reason in tiles.items():
                want = tile in expected.get(load, [])
                if (tile in got.get(load, [])) != want:
                    wrong.add(f"kept ({reason}) where expected deferred" if want else "deferred where expected kept")
        return "; ".join(sorted(wrong))
    if verdict in ("mismatch", "nonfinite-leak"):
        if finding and finding["variant"] not in (None, "deferred"):  # a kernel of the gate audit
            return f"{finding['variant']} variant"
        deferred = any(report["deferred"].values())
        return "deferred variant" if deferred else "deferred variant, nothing deferred"
    if verdict == "baseline-mismatch":
        return "eager variant"
    if verdict == "helion-decision":
        return helion_decision_rule(report)
    if verdict == "helion-regression" and finding is not None:  # the rule of what regressed
        regressed = Regression.parse(finding["message"])
        return f"{regressed.kind}: {rule(dict(report, verdict=regressed.kind))}; {regressed.versions}"
    if verdict == "helion-mismatch":
        deferred = any(report["helion"]["deferred"].values())
        return f"{finding['variant'] if finding else '-'}, {'deferred' if deferred else 'nothing deferred'}"
    if verdict == "helion-crash" and finding is not None:
        return f"{finding['stage']}/{finding['variant']}: {crash_words(finding['message'])}"[:120]
    if finding is None:
        return ""
    message = finding["message"]
    if verdict in ("gate", "helion-gate"):  # "<generation>: the pass chose to <defer|keep>: ..."
        gen, _, rest = message.partition(": the pass chose to ")
        return f"{gen}: {rest.split(':')[0]} costs more"
    if verdict in ("compile", "helion-compile"):  # "<generation>: <who was rejected>: <message>", numbers blanked
        gen, _, rest = message.partition(": ")
        said = rest.partition(": ")[2] or rest
        return f"{gen}/{finding['variant'] or 'both'}: {blank_numbers(said)}"[:100]
    if verdict == "crash":
        return f"{finding['stage']}/{finding['variant'] or '-'}: {message.split(':', 1)[0]}"
    return finding["stage"]


def helion_decision_rule(report: dict[str, Any]) -> str:
    """Where Helion's pass and the reference part, in the reference's reasons."""
    helion, reference, reasons = report["helion"]["deferred"], report["deferred"], report["reasons"]
    parted = set()
    for load, tiles in reasons.items():
        for tile, reason in tiles.items():
            theirs, ours = tile in helion.get(load, []), tile in reference.get(load, [])
            if theirs != ours:
                parted.add(
                    f"Helion defers where the reference keeps ({reason})"
                    if theirs
                    else "Helion keeps where the reference defers"
                )
    if report["helion"].get("inconsistent"):
        parted.add("Helion's graph and its source disagree")
    return "; ".join(sorted(parted))


def signature(report: dict[str, Any], spec: KernelSpec) -> Signature | None:
    """The signature of a check's verdict, or None when it passed or could not be compared
    (:data:`~fuzzpass.judge.verdict.UNSUPPORTED`: counted by a run, never a finding)."""
    if not Kind(report["verdict"]).is_defect:
        return None
    if report["verdict"] == "helion-crash" or rule(report).startswith("helion-crash"):
        return Signature(report["verdict"], rule(report), "any")  # Helion's message names the fault, not the ops
    return Signature(report["verdict"], rule(report), pattern(spec))
