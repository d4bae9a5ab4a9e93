"""A short deterministic fuzz in CI: the real pass survives it, every mutant dies in it.

These run the same :class:`~fuzzpass.fuzz.explorer.Explorer` a ``fuzzpass run`` worker runs, in this
process, with a fixed seed and no example database (the CI profile's rules), so the cases are
the same on every machine with the same Hypothesis.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest

from fuzzpass.core.case import parse_case
from fuzzpass.fuzz.coverage import branches, reasons_of
from fuzzpass.fuzz.explorer import Explorer
from fuzzpass.judge.checked import Checked, Config, check
from fuzzpass.judge.mutants import MUTANTS

SEED = 20261126
MAX_EXAMPLES = 30  # up to 8 cases each

TARGETS = {
    "through-reshape": "negative",
    "ignore-second-use": "negative",
    "nonzero-fill": "negative",
    "drop-remask": "deferrable",
    "wrong-axis": "deferrable",
    "off-by-one": "deferrable",
    "inverted-gate": "gate-boundary",
    "bool-remask": "deferrable",
    "forced-drops-remask": "deferrable",
    "partner-without-exception": "neighbours",
    "mul-without-strict-float": "neighbours",
    "no-broadcast-rule": "neighbours",
    "consumers-missing-one": "neighbours",
}
"""The policy aimed at each mutant's rule (``fuzzpass mutants`` measures them all under ``mixed``)."""


def explore(mutant: str | None, max_examples: int, policy: str = "mixed") -> tuple[list[Checked], Explorer]:
    seen: list[Checked] = []
    backend = MUTANTS[mutant].oracle if mutant else "interpret"
    gate = () if mutant and MUTANTS[mutant].audited else None  # as ``fuzzpass mutants`` runs it
    config = Config(policy=policy, backend=backend, seed=SEED, mutant=mutant, gate=gate)
    explorer = Explorer(config, frozenset(), seen.append, max_examples=max_examples)
    explorer.segment(SEED)
    return seen, explorer


def test_mutant_targets_cover_every_mutant() -> None:
    assert set(TARGETS) == set(MUTANTS)


def test_real_pass_survives_a_short_fuzz() -> None:
    seen, _ = explore(None, MAX_EXAMPLES)
    assert len(seen) >= MAX_EXAMPLES
    assert [c.signature for c in seen if c.signature] == []
    coverage = branches(Counter(r for c in seen for r in reasons_of(c.report)))
    assert coverage["deferred"] and coverage["gate"]
    assert sum(bool(coverage[b]) for b in ("reshape", "second-use", "nonzero-fill", "tile-not-unique")) >= 2


BOUNDED = [m for m in MUTANTS if m != "mul-without-strict-float"]
"""One mutant of Helion's rules needs rarer cases than thirty examples draw (a product with a
factor whose truth is infinite, where ``0 * inf`` must stay unknown): ``fuzzpass mutants``
kills it in about 35 s, and its minimized killing case is a regression test
(``tests/regressions/test_minimized_*``). The draws are the same on every machine
(``generators.examples.draws_ignore_local_code``), so what dies here dies in CI."""


@pytest.mark.parametrize("mutant", BOUNDED)
def test_mutant_is_killed_within_bounded_cases_by_its_own_bug(mutant: str) -> None:
    """Each mutant dies within the bounded fuzz its policy draws, and its killing case replays
    and is right under the real pass."""
    seen, explorer = explore(mutant, MAX_EXAMPLES, TARGETS[mutant])
    killing = [c for c in seen if c.signature is not None and c.signature.blames_pass]
    assert killing, f"{mutant} survived {len(seen)} cases"
    first = killing[0]
    case = parse_case(json.loads(first.case))
    config = Config(backend=MUTANTS[mutant].oracle, poison=first.report["poison"], gate=explorer.config.gate)
    assert check(case, replace(config, mutant=mutant)).signature == first.signature  # it replays
    assert check(case, config).signature is None  # and the real pass gets that case right


def test_shrinking_ends_at_its_deadline_and_hands_over_the_smallest_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the segment's shrinking time is spent, Hypothesis is stopped at its next candidate
    (``ShrinkingOver``), not left to try every candidate it has for up to five minutes while
    the worker checks nothing: a run with findings went from 12 to 236 cases in 60 s."""
    from generators.examples import Example

    drawn = Counter[str]()
    real_cases = Example.cases
    monkeypatch.setattr(Example, "cases", lambda self, name: drawn.update([name]) or real_cases(self, name))
    shrunk: list[str] = []
    config = Config(policy="deferrable", seed=SEED, mutant="off-by-one")  # a finding after a few cases
    explorer = Explorer(config, frozenset(), lambda checked: None, max_examples=MAX_EXAMPLES, shrink_seconds=1e-9,
                        on_shrunk=lambda found, case: shrunk.append(case))  # fmt: skip
    found = explorer.segment(SEED)
    assert found is not None and found.kind == "mismatch"
    assert len(shrunk) == 1 and parse_case(json.loads(shrunk[0])).name  # the failing case, handed over
    assert sum(drawn.values()) <= explorer.cases + 3  # the finding replayed once, one candidate stopped


def test_a_harness_exception_is_a_crash_finding_and_the_exploration_goes_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception escaping the check of one case (a fuzzpass bug) is that case's ``crash``
    at stage ``harness``, naming where it was raised; the explorer checks the next case."""
    import fuzzpass.judge.checked

    real = fuzzpass.judge.checked.check_case
    calls = Counter[str]()

    def every_third_raises(case, **kwargs):  # type: ignore[no-untyped-def]
        calls["all"] += 1
        if calls["all"] % 3 == 0:
            raise RuntimeError("a harness bug")
        return real(case, **kwargs)

    monkeypatch.setattr(fuzzpass.judge.checked, "check_case", every_third_raises)
    seen: list[Checked] = []
    config = Config(policy="deferrable", seed=SEED)
    explorer = Explorer(config, frozenset(), seen.append, max_examples=10)
    while len(seen) < 7:
        found = explorer.segment(SEED + len(seen))
        if found is not None:
            explorer.known.add(found)
    crashes = [c for c in seen if c.verdict == "crash"]
    assert crashes and len(seen) > len(crashes)  # the cases after a crash were checked too
    (finding,) = crashes[0].report["findings"]
    assert finding["stage"] == "harness" and finding["message"].startswith("RuntimeError: a harness bug (at ")
    assert str(crashes[0].signature).startswith("crash | harness")
