"""Decision coverage: how often each branch of the pass was taken over a run.

Each checked case contributes one decision per (load, tile): the reason the pass gave
(``reference.defer.Reason``). Reasons group into the branches a reader of the pass knows:
deferred, refused by the profitability gate, by a reshape, by a second use, by a non-zero
fill, and rank 2. A run that never took a branch never tested it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

BRANCHES: dict[str, tuple[str, ...]] = {
    "deferred": ("deferred",),
    "gate": ("last-two-at-load", "not-last-two-at-consumer", "axis-not-moved"),
    "reshape": ("reshape",),
    "second-use": ("second-use", "tile-not-unique"),
    "nonzero-fill": ("nonzero-fill",),
    "rank-2": ("rank-2",),
    "no-uses": ("no-uses",),
}
"""Branch -> the pass's reasons it covers. ``no-uses`` (a dead load) is listed, not required."""

REQUIRED = ("deferred", "gate", "reshape", "second-use", "nonzero-fill", "rank-2")


def reasons_of(report: dict) -> Iterable[str]:
    """The pass's reason for every (load, tile) of one check report."""
    for tiles in report.get("reasons", {}).values():
        yield from tiles.values()


def branches(reasons: Counter[str]) -> dict[str, int]:
    """Reason counts summed per branch, in :data:`BRANCHES` order."""
    return {branch: sum(reasons[r] for r in members) for branch, members in BRANCHES.items()}


def missing(reasons: Counter[str]) -> list[str]:
    """Required branches no case took."""
    counts = branches(reasons)
    return [b for b in REQUIRED if not counts[b]]


def table(reasons: Counter[str]) -> list[str]:
    """The coverage table as lines: branch, count, share, and the reasons under it."""
    total = sum(reasons.values()) or 1
    lines = [f"{'branch':<14}{'decisions':>10}{'share':>8}  reasons"]
    for branch, members in BRANCHES.items():
        count = sum(reasons[r] for r in members)
        detail = ", ".join(f"{r} {reasons[r]}" for r in members if reasons[r])
        lines.append(f"{branch:<14}{count:>10}{count / total:>8.1%}  {detail or '-'}")
    return lines
