"""``fuzzpass exhaust``: every structure up to K graph nodes, checked as a run checks cases.

The structures are ``generators/enumeration.py``'s, smallest first, each on the length
instances that matter (``LENGTHS``: jagged, and a single sequence). The run engine is
``fuzz/run.py``'s: workers, timeouts, findings, summary, report. Only the source of cases
differs: worker ``i`` of ``n`` checks the structures ``i, i + n, ...`` in order (so a
structure's instances share compiled kernels), and a worker that replaces a lost one starts
where its predecessor stopped.

What it claims, it counts: how many structures exist at each size, and how many were checked
(a structure counts once all its instances are), so "no counterexample up to K nodes" comes
with its denominator.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from fuzzpass.core.case import Case
from fuzzpass.judge.mutants import Mutant
from generators.enumeration import EXHAUST_POLICIES, LENGTHS, by_size, instances
from generators.structures import Structure
from reference.compile import compile_variant

SEED = 0
"""Every instance's data seed: an enumeration draws nothing, so its cases are the same bytes
on every run (``--seed`` still seeds what a run's repros draw)."""


@dataclass(frozen=True)
class Plan:
    """The structures of a bound, in checking order, and how many there are of each size."""

    max_nodes: int
    structures: tuple[Structure, ...]
    policy: str = "exhaust"
    enumerated: int | None = None
    """With ``--differing``: how many structures the bound has before those where the pass
    under test compiles what the reference compiles were left out."""

    @property
    def sizes(self) -> dict[int, int]:
        return dict(sorted(Counter(len(s.graph) for s in self.structures).items()))

    def share(self, worker: int, workers: int) -> list[int]:
        """The structures worker ``worker`` of ``workers`` checks, by index."""
        return list(range(worker, len(self.structures), workers))

    def cases_of(self, worker: int, workers: int) -> int:
        return len(self.share(worker, workers)) * len(LENGTHS)

    @property
    def cases(self) -> int:
        """Every case of the bound: each structure on each length instance."""
        return len(self.structures) * len(LENGTHS)


def plan(max_nodes: int, policy: str = "exhaust", differing: Mutant | None = None) -> Plan:
    """Every structure of at most ``max_nodes`` nodes under the exhaust ``policy``; with
    ``differing``, only those where that pass's decisions or deferred kernel differ from the
    reference pass's (elsewhere it compiles what the reference compiles, and ``fuzzpass
    exhaust`` without ``--pass`` checks that)."""
    every = by_size(max_nodes, EXHAUST_POLICIES[policy])
    if differing is None:
        return Plan(max_nodes, tuple(every), policy)
    return Plan(max_nodes, tuple(s for s in every if differs(s, differing)), policy, len(every))


def differs(structure: Structure, under_test: Mutant) -> bool:
    """Whether ``under_test`` decides or compiles ``structure`` otherwise than the reference."""
    spec = structure.spec({t: (b,) for t, b in structure.blocks.items()})
    ours, theirs = compile_variant(spec, title="x"), under_test.compile(spec, "x")
    return ours.deferred() != theirs.deferred() or ours.source.text != theirs.source.text


def case_name(max_nodes: int, index: int, structure: Structure, distribution: str) -> str:
    """``exhaust<K>-<nodes>n-<index>.<distribution>``: the structure's size and index read
    back from any checked case (:func:`parse_name`)."""
    return f"exhaust{max_nodes}-{len(structure.graph)}n-{index}.{distribution}"


def parse_name(name: str) -> tuple[int, int] | None:
    """(size, structure index) of a case :func:`case_name` named; None for another case."""
    head, _, rest = name.partition("-")
    size, _, tail = rest.partition("n-")
    index = tail.split(".")[0]
    return (int(size), int(index)) if head.startswith("exhaust") and size.isdigit() and index.isdigit() else None


def cases(p: Plan, worker: int, workers: int, remaining: int | None) -> Iterator[tuple[Case, dict]]:
    """The cases of ``worker``'s share with the oracle's expectation, the last ``remaining``
    of them (a replacement worker's: its predecessor checked the others)."""
    listed = [
        (Case(case_name(p.max_nodes, i, s, dist), SEED, s.spec(lengths), s.expect_deferred), s.expect)
        for i in p.share(worker, workers)
        for s in (p.structures[i],)
        for dist, lengths in instances(s)
    ]
    yield from listed[len(listed) - remaining :] if remaining is not None else listed


@dataclass
class Tally:
    """Which instances of which structures were checked (the parent's count)."""

    plan: Plan
    done: dict[int, set[str]] = field(default_factory=dict)

    def add(self, case_name: str) -> None:
        if (parsed := parse_name(case_name)) is not None:
            self.done.setdefault(parsed[1], set()).add(case_name.rsplit(".", 1)[1])

    def checked(self) -> dict[int, int]:
        """Structures with every instance checked, per size."""
        full = Counter(len(self.plan.structures[i].graph) for i, d in self.done.items() if len(d) == len(LENGTHS))
        return {size: full[size] for size in self.plan.sizes}

    def to_json(self) -> dict:
        return {
            "max_nodes": self.plan.max_nodes,
            "policy": self.plan.policy,
            "enumerated": self.plan.enumerated,
            "instances": list(LENGTHS),
            "structures": {str(k): v for k, v in self.plan.sizes.items()},
            "checked": {str(k): v for k, v in self.checked().items()},
        }

    def lines(self) -> list[str]:
        """The claim with its denominator, one line per size."""
        checked = self.checked()
        rows = [f"{'nodes':>5}{'structures':>12}{'checked':>9}"]
        rows += [f"{size:>5}{n:>12}{checked[size]:>9}" for size, n in self.plan.sizes.items()]
        total, done = len(self.plan.structures), sum(checked.values())
        rows.append(f"{'all':>5}{total:>12}{done:>9}  (each on {len(LENGTHS)} length sets: {', '.join(LENGTHS)})")
        return rows


def sizes_line(p: Plan) -> str:
    """How many structures exist at each size: the denominator, before anything is checked."""
    among = f" (of {p.enumerated}: where the pass under test differs from the reference)" if p.enumerated else ""
    return (
        f"fuzzpass exhaust: {len(p.structures)} structures of at most {p.max_nodes} nodes{among} ("
        + ", ".join(f"{n} of {size}" for size, n in p.sizes.items())
        + f"), each on {len(LENGTHS)} length sets: {p.cases} cases ({p.policy} policy)"
    )
