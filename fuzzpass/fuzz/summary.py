"""What a run did, as ``--out/summary.json`` records it (its keys are a public contract)."""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fuzzpass.backends import backend, helions
from fuzzpass.fuzz.compiles import CompileTally
from fuzzpass.fuzz.coverage import branches, counts, neighbour_counts
from fuzzpass.fuzz.exhaust import Tally
from fuzzpass.fuzz.options import Options
from fuzzpass.fuzz.store import Finding

TIMELINE_POINTS = 512

VERSIONED = ("fuzzpass", "jax", "jaxlib", "libtpu", "helion", "torch", "hypothesis")
"""The packages whose versions a run records: what produced its verdicts and kernels."""


@functools.cache
def versions() -> dict[str, str | None]:
    """Installed versions of :data:`VERSIONED` (None: not installed), read without importing
    them, once per process: a summary is written every ten seconds."""
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in VERSIONED:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


@dataclass
class BaselineTally:
    """``--helion-baseline``: cases the baseline checked, or could not; and per signature of
    what the Helion under test fixed since it (counted, never a finding) or broke."""

    compared: int = 0
    not_run: int = 0
    fixed: Counter[str] = field(default_factory=Counter)
    regressed: Counter[str] = field(default_factory=Counter)

    def add(self, report: dict[str, Any]) -> None:
        if (b := report.get("helion_baseline")) is None:
            return
        if b["verdict"].startswith("not run"):
            self.not_run += 1
            return
        self.compared += 1
        pattern = f" | {b['pattern']}" if b.get("pattern") else ""
        self.fixed.update(f"{f['kind']} ({f['variant']}){pattern}" for f in b["fixed"])
        self.regressed.update(f"{f['kind']} ({f['variant']}){pattern}" for f in b["regressed"])

    def to_json(self, label: str) -> dict[str, Any]:
        return {
            "helion": label,
            "compared": self.compared,
            "not_run": self.not_run,
            "fixed_cases": sum(self.fixed.values()),
            "fixed": dict(self.fixed.most_common()),
            "regressed": dict(self.regressed.most_common()),
        }


@dataclass
class RunResult:
    """What a run did: the summary written to ``--out/summary.json``."""

    options: Options
    cases: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    neighbours: Counter[str] = field(default_factory=Counter)  # cases per branch of Helion's rules beside the pass
    verdicts: Counter[str] = field(default_factory=Counter)
    eager_nonfinite: int = 0
    timeouts: int = 0
    crashes: int = 0
    audited: int = 0  # cases whose gate was audited (``--check-gate``; ``gate.jsonl``)
    helion_audited: int = 0  # cases whose Helion gate was audited (``--check-gate --backend helion``)
    stages: Counter[str] = field(default_factory=Counter)  # worker seconds per stage (``profile``)
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (seconds, cases, findings)
    helion: Counter[str] = field(default_factory=Counter)  # per load and tile: Helion agrees or differs
    compiles: CompileTally = field(default_factory=CompileTally)  # per TPU generation (``tpu_compile``)
    helion_compiles: CompileTally = field(default_factory=CompileTally)  # Helion's kernels (``helion_tpu_compile``)
    unsupported: dict[str, str] = field(default_factory=dict)  # a tpu-unsupported message -> its example case
    workers: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""
    exhaust: Tally | None = None  # ``fuzzpass exhaust``: structures per size, and how many were checked
    baseline: BaselineTally = field(default_factory=BaselineTally)  # ``--helion-baseline``

    def compile_cache(self) -> str | None:
        """Where the workers keep compiled programs, or why no cache on disk can serve them."""
        from fuzzpass.backends.environment import compile_cache_unused

        config = self.options.config
        if self.options.compile_cache is None:
            return None
        reason = compile_cache_unused(config.backend, config.gate is not None)
        return f"unused: {reason}" if reason else str(self.options.compile_cache)

    def to_json(self) -> dict[str, Any]:
        from fuzzpass.fuzz.examples import shown

        c, o = self.options.config, self.options
        return {
            "seed": c.seed,
            "policy": c.policy,
            "backend": c.backend,
            "poison": c.poison,
            "mutant": c.mutant,
            "pass": c.candidate.to_json() if c.candidate else None,
            "gate_rule": c.gate_rule,
            "jobs": o.jobs,
            "compile_cache": self.compile_cache(),
            "examples": shown(o.examples_at),
            "example_seeds": len(c.seeds),  # real kernels' structures the run mutated (``fuzzpass corpus``)
            "budget": str(o.budget),
            "generations": list(c.generations) if c.generations is not None else None,
            "gate_generations": list(c.gate) if c.gate is not None else None,
            "check_forced": c.check_forced,  # the pass under test's forced kernel checked too (``mutants``)
            "versions": dict(versions(), **({"helion": helions.label()} if backend(c.backend).helion else {})),
            "helion_rules": self.rules,
            "helion_baseline": self.baseline.to_json(c.baseline.label) if c.baseline else None,
            "stopped": self.stopped,
            "cases": self.cases,
            "seconds": round(self.seconds, 2),
            "cases_per_s": round(self.cases / self.seconds, 2) if self.seconds else 0.0,
            "findings": [f.to_json() for f in self.findings],
            "coverage": counts(self.reasons, c.gate_rule),
            "branches": branches(self.reasons, c.gate_rule),
            "neighbours": neighbour_counts(self.neighbours),
            "verdicts": dict(sorted(self.verdicts.items())),
            "eager_nonfinite": self.eager_nonfinite,
            "gate_audited": self.audited,
            "helion_gate_audited": self.helion_audited,
            "timeouts": self.timeouts,
            "worker_crashes": self.crashes,
            "workers": self.workers,
            "exhaust": self.exhaust.to_json() if self.exhaust is not None else None,
            "profile": {name: round(s, 2) for name, s in self.stages.most_common()},
            "helion_decisions": dict(self.helion, rate=self.helion_agreement) if self.helion else None,
            "tpu_compile": self.compiles.to_json(),
            "helion_tpu_compile": self.helion_compiles.to_json(),
            "tpu_unsupported_examples": self.unsupported,
            "timeline": [list(point) for point in self.timeline],
        }

    @property
    def absent_rules(self) -> frozenset[str]:
        """Helion's rules beside the pass that the Helion under test lacks (``--backend helion``)."""
        if not backend(self.options.config.backend).helion:
            return frozenset()
        from fuzzpass.backends import helion_rules
        from reference.neighbours import RULES

        return frozenset(RULES) - helion_rules.imported()

    @property
    def rules(self) -> str | None:
        """Which of Helion's rules beside the pass the reference modelled (``--backend helion``)."""
        if not backend(self.options.config.backend).helion:
            return None
        from fuzzpass.backends import helion_rules

        return helion_rules.describe(helion_rules.imported())

    def mark_time(self) -> None:
        """One point of the timeline the morning report draws (cases and findings over the
        run's time): a point per summary written, every ten seconds or so, thinned to at most
        :data:`TIMELINE_POINTS` by dropping every other one."""
        self.timeline.append((round(self.seconds, 1), self.cases, len(self.findings)))
        if len(self.timeline) > TIMELINE_POINTS:
            self.timeline = self.timeline[::2] + ([self.timeline[-1]] if len(self.timeline) % 2 == 0 else [])

    @property
    def helion_agreement(self) -> float | None:
        """The share of (load, tile) decisions on which Helion's pass and the reference agree."""
        total = self.helion["agree"] + self.helion["differ"]
        return round(self.helion["agree"] / total, 4) if total else None


def helion_agreement(report: dict[str, Any]) -> Counter[str]:
    """Per (load, tile) of a ``--backend helion`` check: did Helion decide as the reference?"""
    helion = report.get("helion") or {}
    if "deferred" not in helion:
        return Counter()
    ours, theirs = report["deferred"], helion["deferred"]
    return Counter(
        "agree" if (tile in ours.get(load, [])) == (tile in theirs.get(load, [])) else "differ"
        for load, tiles in report["reasons"].items()
        for tile in tiles
    )
