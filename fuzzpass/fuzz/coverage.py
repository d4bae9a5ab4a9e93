"""Decision coverage: how often each branch of the pass was taken over a run.

Each checked case contributes one decision per (load, tile): the reason the pass gave
(``reference.defer.Reason``). Reasons group into the branches a reader of the pass knows:
deferred, refused by the profitability gate (rank 2 among its reasons), by a tile that fills
two dims, by a reshape, by a second use, by a non-zero fill, and a load nobody uses. Every reason is listed,
a zero included: a branch no run reached was never tested, and the table says so.

Helion's rules beside the pass (``reference/neighbours.py``) have their own table: per rule,
every branch, with the number of cases in which some variant took it, zeros included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from reference import gates
from reference.gates import DEFAULT
from reference.neighbours import BRANCHES as NEIGHBOUR_BRANCHES

BRANCHES: dict[str, tuple[str, ...]] = {
    "deferred": ("deferred",),
    "gate": (),  # the refusals of the run's gate: its ``reasons`` (``reference.gates``)
    "tile-not-unique": ("tile-not-unique",),
    "reshape": ("reshape",),
    "second-use": ("second-use",),
    "nonzero-fill": ("nonzero-fill",),
    "no-uses": ("no-uses",),
}
"""Branch -> the pass's reasons it covers; the gate's reasons depend on the gate."""


def branches_of(gate: str = DEFAULT) -> dict[str, tuple[str, ...]]:
    """:data:`BRANCHES` with the ``gate`` branch filled in: every reason the pass can give with
    that gate exactly once (``mode-off`` is the eager variant's, not a decision)."""
    return {b: gates.gate(gate).reasons if b == "gate" else members for b, members in BRANCHES.items()}


def reasons(gate: str = DEFAULT) -> tuple[str, ...]:
    return tuple(r for members in branches_of(gate).values() for r in members)


def reasons_of(report: dict) -> Iterable[str]:
    """The pass's reason for every (load, tile) of one check report."""
    for tiles in report.get("reasons", {}).values():
        yield from tiles.values()


def counts(given: Counter[str], gate: str = DEFAULT) -> dict[str, int]:
    """Every reason's count, zeros included, in branch order; a reason this gate does not give
    (another gate's, or a candidate pass's own) after them."""
    known = {r: given[r] for r in reasons(gate)}
    return known | {r: n for r, n in sorted(given.items()) if r not in known}


def branches(given: Counter[str], gate: str = DEFAULT) -> dict[str, int]:
    """Reason counts summed per branch, in :data:`BRANCHES` order."""
    return {branch: sum(given[r] for r in members) for branch, members in branches_of(gate).items()}


def missing(given: Counter[str], gate: str = DEFAULT) -> list[str]:
    """Reasons no case was given."""
    return [r for r in reasons(gate) if not given[r]]


def table(given: Counter[str], gate: str = DEFAULT) -> list[str]:
    """The coverage table as lines: branch, count, share, and every reason under it with its
    count (zeros too)."""
    total = sum(given.values()) or 1
    lines = [f"{'branch':<16}{'decisions':>10}{'share':>8}  reasons"]
    for branch, members in branches_of(gate).items():
        count = sum(given[r] for r in members)
        detail = ", ".join(f"{r} {given[r]}" for r in members) if len(members) > 1 else ""
        lines.append(f"{branch:<16}{count:>10}{count / total:>8.1%}  {detail}".rstrip())
    return lines


def neighbours_of(report: dict) -> Iterable[str]:
    """The ``rule:branch`` pairs of Helion's rules beside the pass one check report took."""
    yield from report.get("neighbours", [])


def neighbour_counts(given: Counter[str]) -> dict[str, dict[str, int]]:
    """Per rule, every branch's count of cases, zeros included."""
    return {rule: {b: given[f"{rule}:{b}"] for b in members} for rule, members in NEIGHBOUR_BRANCHES.items()}


def neighbour_table(given: Counter[str], absent: frozenset[str] = frozenset()) -> list[str]:
    """Helion's rules beside the pass: per rule, its cases, and every branch with its count;
    a rule the Helion under test lacks (``absent``) says so instead."""
    lines = [f"{'Helion rule beside the pass':<30}{'cases':>7}  branches"]
    for rule, branch_counts in neighbour_counts(given).items():
        detail = ", ".join(f"{b} {n}" for b, n in branch_counts.items())
        if rule in absent:
            detail = "absent in this Helion (the reference models it without the rule)"
        lines.append(f"{rule:<30}{sum(branch_counts.values()):>7}  {detail}")
    return lines


def neighbours_missing(given: Counter[str], absent: frozenset[str] = frozenset()) -> list[str]:
    """``rule:branch`` pairs no case took, but those of rules the Helion under test lacks."""
    counts = neighbour_counts(given)
    return [f"{rule}:{b}" for rule, bs in counts.items() if rule not in absent for b, n in bs.items() if not n]
