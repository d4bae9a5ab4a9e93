"""What one check learned, as the check builds it and as ``check --json`` prints it.

Kept apart from :mod:`fuzzpass.judge.check` so that the Helion comparison, which fills the
same result, and the renderer can import it without importing the check that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fuzzpass.core.case import Case
from fuzzpass.judge.gate import GateRecord
from fuzzpass.judge.oracle import Comparison
from fuzzpass.judge.verdict import Finding, Kind, verdict_of
from reference.compile import Variant

VARIANTS = ("eager", "deferred")


class BackendUnavailable(Exception):
    """The command asked for a backend this machine cannot provide (exit 2, one line)."""


@dataclass
class CheckResult:
    """Everything one check learned: decisions, per-variant comparisons, findings."""

    case: Case
    poison: str
    backends: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    bitwise_equal: bool | None = None
    findings: list[Finding] = field(default_factory=list)
    gate: GateRecord | None = None
    audited: dict[str, Comparison] = field(default_factory=dict)
    """The gate audit's other kernels (forced, each gate's choice) against the ground truth."""
    helion: dict[str, Any] | None = None  # what Helion decided and computed (``--backend helion``)
    eager_hazard: str | None = None
    """Why the eager kernel's wrong numbers under ``nan`` poison are the baseline's known
    hazard (``NaN * 0``), where both kernels were judged again under ``finite`` poison."""

    @property
    def verdict(self) -> Kind:
        return verdict_of(self.findings)

    @property
    def deferred(self) -> dict[str, list[str]]:
        v = self.variants.get("deferred")
        return v.deferred() if v else {}

    def to_json(self) -> dict[str, Any]:
        variants: dict[str, Any] = {}
        for name in VARIANTS:
            entry: dict[str, Any] = dict(self.comparisons[name].to_json()) if name in self.comparisons else {}
            if name in self.variants:
                entry["removed_masks"] = self.variants[name].removed_masks
            variants[name] = entry
        expect = self.case.expect_deferred
        return {
            "case": self.case.name,
            "seed": self.case.seed,
            "verdict": self.verdict.value,
            "poison": self.poison,
            "deferred": self.deferred,
            "expected": None if expect is None else {k: list(v) for k, v in expect.items()},
            "reasons": {
                load: dict(d.reasons)
                for load, d in (self.variants["deferred"].decisions.items() if "deferred" in self.variants else [])
            },
            "variants": variants,
            "bitwise_equal": self.bitwise_equal,
            "backends": self.backends,
            "findings": [f.to_json() for f in self.findings],
            "gate": self.gate.to_json() if self.gate else None,
            **({"audited": {name: c.to_json() for name, c in self.audited.items()}} if self.audited else {}),
            "helion": self.helion,
            **({"eager_hazard": self.eager_hazard} if self.eager_hazard else {}),
            "neighbours": sorted(set().union(*(v.neighbour_branches for v in self.variants.values()))),
        }


def describe(c: Comparison) -> str:
    w = c.worst or {}
    return (
        f"{c.out_of_tolerance} elements beyond tolerance{', non-finite values' if c.nonfinite else ''}; worst: "
        f"{w.get('output')}[item {w.get('work_item')}][{','.join(map(str, w.get('index', [])))}] "
        f"expected {w.get('expected')!r}, got {w.get('actual')!r} (tolerance {w.get('tolerance', 0):.3g})"
    )
