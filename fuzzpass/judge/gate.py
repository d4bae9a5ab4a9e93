"""The gate audit: does the pass's profitability gate pick the variant the TPU compiler makes
cheaper? Judged on static schedules (``backends/schedule.py``), per generation.

For a case where deferral is possible at all (mode ``force`` defers some tile), the three
variants are compiled for every generation: ``eager`` (pass off), ``deferred`` (the pass as it
decides) and ``forced`` (deferred wherever a permute-only path moves the axis). If the pass
deferred, the other choice was ``eager``; if it kept the masks, the other choice was
``forced``. A choice whose schedule is longer than the other's by more than :data:`MARGIN` is a
``gate`` finding for that generation. These are static schedule lengths, not timings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch.fx

from fuzzpass.judge.verdict import Finding, Kind, Stage
from reference import gates, mosaic
from reference.compile import Variant, compile_variant
from reference.gates import GATES

GENERATIONS = ("v4", "v5e", "v5p", "v6e", "tpu7x")

MARGIN = 0.05
"""A choice is wrong only when it schedules more than 5% more bundles than the other: counts
move by a few percent between neighbouring shapes and compiler versions (TPU-AOT.md)."""


@dataclass
class GateRecord:
    """One audited case: its pattern, the pass's choice and the bundle counts per generation.
    ``by`` says whose pass and kernels: the reference's, or production Helion's
    (``judge/helion_judge.py``), whose three kernels are recorded under the same names."""

    pattern: dict[str, Any]
    choice: str  # "defer" or "keep": the check's deferred variant's
    by: str = "reference"
    choices: dict[str, str] = field(default_factory=dict)
    """Per generation, where the pass's gate reads the target generation
    (a ``targeted`` gate of ``reference.gates``): the choice of the variant compiled for it."""
    counts: dict[str, dict[str, int | None]] = field(default_factory=dict)  # gen -> variant -> bundles
    rejected: dict[str, dict[str, str]] = field(default_factory=dict)  # gen -> variant -> compiler message
    findings: list[Finding] = field(default_factory=list)
    gates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Each gate of ``reference.gates`` on the same case: its choice and its kernel's bundles
    per generation (``gate-report`` puts them side by side)."""
    kernels: dict[str, Variant] = field(default_factory=dict, repr=False)
    """The kernels the audit compiled beyond the check's eager and deferred ones, each once,
    by the name a finding gives it (``forced``, ``gate layout``, ``gate generation (v6e)``):
    the check runs them on the case's data too (``judge/check.py``'s ``check_audited``), so
    a schedule is never a wrong kernel's. Not serialized."""

    def to_json(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "pattern": self.pattern,
            "choice": self.choice,
            **({"choices": self.choices} if self.choices else {}),
            "counts": self.counts,
            "rejected": self.rejected,
            **({"gates": self.gates} if self.gates else {}),
        }

    def add(self, gen: str, compiled: dict[str, Any]) -> None:
        """The kernels as compiled for ``gen`` (``tpu_aot.Compiled`` per variant name). Only
        the eager one where the compiler rejects it: no choice is judged against a baseline
        that does not compile (its VMEM overflowing, say), and compiling the other variants of
        such a case for every generation once ran a worker past its timeout."""
        self.counts[gen] = dict.fromkeys(("eager", "deferred", "forced")) | {n: c.bundles for n, c in compiled.items()}
        self.rejected[gen] = {name: c.message for name, c in compiled.items() if not c.ok}

    def judge(self, judged: Sequence[str], kind: Kind = Kind.GATE, variant: str = "deferred") -> None:
        """A ``kind`` finding for each generation of ``judged`` where the choice scheduled
        more than :data:`MARGIN` more bundles than the other choice."""
        for gen in judged:
            if agrees(self.to_json(), gen) is not False:
                continue
            choice = choice_on(self.to_json(), gen)
            chosen, other = chosen_and_other(self.counts[gen], choice)
            assert chosen is not None and other is not None
            alternative = "not deferring" if choice == "defer" else "forcing deferral"
            message = (
                f"{gen}: the pass chose to {choice}: {chosen} bundles; {alternative}: {other} "
                f"(+{chosen / other - 1:.0%}, static schedules)"
            )
            self.findings.append(Finding(kind, Stage.DECIDE, variant, message))


def first_deferred(forced: Variant) -> tuple[torch.fx.Node, str, list[torch.fx.Node]] | None:
    """The first load whose tile forcing defers, that tile, and the consumer masks that
    discharge it: where the audit files a case, and what a gate is asked about it."""
    for load in forced.graph.nodes:
        decision = forced.decisions.get(load.meta.get("var", ""))
        if decision is not None and decision.deferred:
            tile = decision.deferred[0]
            return load, tile, [n for n in forced.graph.nodes if n.meta.get("var") in decision.consumers[tile]]
    return None


def pattern_of(forced: Variant) -> dict[str, Any] | None:
    """Consumer kind, rank, and the tile's dim at the load and at the consumer, of the first
    tile that forcing defers; None when forcing defers nothing."""
    if (first := first_deferred(forced)) is None:
        return None
    load, tile, masks = first
    value = load.meta["value"]
    return {
        "consumer": ",".join(sorted({u.meta["op"].name for m in masks for u in m.users})),
        "rank": value.rank,
        "at_load": value.dim_index(tile),
        "at_consumer": ",".join(str(i) for i in sorted({m.meta["value"].dim_index(tile) for m in masks})),
    }


def audit(
    case: Any,
    eager: Variant,
    deferred: Variant,
    data: Any,
    judged: Sequence[str],
    gate_rule: str | None = None,
    forced: Variant | None = None,
) -> GateRecord | None:
    """Compile the three variants of ``case`` (the check's ``eager`` and ``deferred``, and the
    ``forced`` one: the pass under test's, by default the reference's) for each generation of
    ``judged`` (:func:`audited`), and judge them there: ``gate`` findings. ``gate_rule`` names the reference
    pass's gate when ``deferred`` is the reference's: a gate that reads the target generation
    has its own deferred variant per generation. None when no permute-only path can move a
    tile."""
    from fuzzpass.backends import tpu_aot

    forced = forced or compile_variant(case.spec, "force", title=f"{case.name}: forced")
    pattern = pattern_of(forced)
    if pattern is None or mosaic.unsupported(case.spec):
        return None
    gens = audited(judged)
    by_gate = {name: variants_of(case, name, gens) for name in GATES}
    record = GateRecord(pattern, choice_of(deferred))
    chosen = {label(n, g): v for n, per in by_gate.items() for g, v in per.items()}
    record.kernels = distinct([eager, deferred], {"forced": forced} | chosen)
    targeted = gate_rule is not None and gates.gate(gate_rule).targeted  # None: the deferred kernel is a mutant's
    if targeted:
        record.choices = {gen: choice_of(v) for gen, v in by_gate[gate_rule].items()}
    for gen in gens:
        mine = by_gate[gate_rule][gen] if targeted else deferred  # type: ignore[index]
        baseline = tpu_aot.compile_for(eager.source, data, case.spec.dtype, gen)
        others = {"deferred": mine, "forced": forced} if baseline.ok else {}
        compiled = {name: tpu_aot.compile_for(v.source, data, case.spec.dtype, gen) for name, v in others.items()}
        record.add(gen, {"eager": baseline} | compiled)
        for name, per_gen in by_gate.items():  # a kernel the same as another one is a cache hit
            v = per_gen[gen]
            entry = record.gates.setdefault(name, {"choice": choice_of(v), "choices": {}, "counts": {}})
            entry["choices"][gen] = choice_of(v)
            entry["counts"][gen] = (
                tpu_aot.compile_for(v.source, data, case.spec.dtype, gen).bundles if baseline.ok else None
            )
    record.judge(judged)
    return record


def audited(judged: Sequence[str]) -> tuple[str, ...]:
    """The generations an audit compiles: those it judges (``--tpu``), in :data:`GENERATIONS`'
    order. Deviceless compiles are the audit's cost, and a large realistic kernel takes a minute
    on tpu7x alone: a generation nobody judges is not compiled, and its record says so by its
    absence (``gate-report``: ``not run``). ``--tpu all`` audits all five."""
    return tuple(g for g in GENERATIONS if g in judged)


def label(gate: str, gen: str) -> str:
    """A gate's kernel as a finding names it: ``gate layout``, or with the generation it was
    compiled for where the gate reads it (``gate generation (v6e)``)."""
    return f"gate {gate} ({gen})" if gates.gate(gate).targeted else f"gate {gate}"


def distinct(known: list[Variant], named: dict[str, Variant]) -> dict[str, Variant]:
    """The kernels of ``named`` that differ from every kernel of ``known`` and from each
    other (the first name kept): each is run once."""
    from fuzzpass.backends.kernel import structural

    seen = {structural(v.source.text) for v in known}
    kept = {}
    for name, variant in named.items():
        text = structural(variant.source.text)
        if text not in seen:
            seen.add(text)
            kept[name] = variant
    return kept


def variants_of(case: Any, gate: str, generations: Sequence[str] = GENERATIONS) -> dict[str, Variant]:
    """The reference pass under ``gate``, per generation of ``generations``: one variant for
    all unless the gate reads the target generation (a ``targeted`` gate of
    ``reference.gates``)."""
    if not gates.gate(gate).targeted:
        one = compile_variant(case.spec, gate=gate, title=f"{case.name}: gate {gate}")
        return dict.fromkeys(generations, one)
    title = f"{case.name}: gate {gate}"
    return {g: compile_variant(case.spec, gate=gate, generation=g, title=f"{title} ({g})") for g in generations}


def choice_of(variant: Variant) -> str:
    return "defer" if any(variant.deferred().values()) else "keep"


def choice_on(entry: dict[str, Any], gen: str) -> str:
    """The choice a record (or a record's gate entry) made for ``gen``: its own for that
    generation where the gate read it, else the one choice it made for all."""
    return entry.get("choices", {}).get(gen, entry["choice"])


def agrees(record: dict[str, Any], gen: str, gate: str | None = None) -> bool | None:
    """Whether the pass's choice (or ``gate``'s, of ``reference.gates``) is no costlier than
    the other beyond :data:`MARGIN` on ``gen``; None when the audit did not compile for
    ``gen``, a variant did not compile there or the record has no such gate."""
    if gen not in record["counts"]:
        return None  # not audited there
    if gate is not None:
        mine = record.get("gates", {}).get(gate)
        if mine is None:
            return None
        counts = dict(record["counts"][gen], deferred=mine["counts"].get(gen))
        chosen, other = chosen_and_other(counts, choice_on(mine, gen))
    else:
        chosen, other = chosen_and_other(record["counts"][gen], choice_on(record, gen))
    if chosen is None or other is None:
        return None
    return chosen <= other * (1 + MARGIN)


def chosen_and_other(counts: dict[str, int | None], choice: str) -> tuple[int | None, int | None]:
    """The bundles of the pass's choice and of the other choice (the eager kernel when it
    deferred, the forced one when it kept the masks)."""
    return counts["deferred"], counts["eager" if choice == "defer" else "forced"]
