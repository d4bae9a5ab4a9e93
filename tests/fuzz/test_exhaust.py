"""``fuzzpass exhaust``: the enumeration walks every path of the generators' choices once,
every structure it yields is a valid case whose expectation the rules confirm, and a run over
them counts what it checked against how many exist."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.core.case import Case, parse_case
from fuzzpass.core.expect import expect_from_spec
from fuzzpass.fuzz.exhaust import Plan, Tally, case_name, cases, differs, parse_name, plan, sizes_line
from fuzzpass.judge.mutants import MUTANTS
from generators.enumeration import EXHAUST_POLICIES, LENGTHS, Enumerated, every_structure, key
from generators.structures import Structure, structure_of
from tests.specs import node, spec


def test_the_odometer_walks_every_path_of_a_choice_tree_once() -> None:
    seen, prefix = [], []
    while prefix is not None:
        c = Enumerated(prefix)
        path = (c.pick("ab"), c.integer(1, 3), c.permutation(3) if c.boolean() else None, c.percent(50))
        seen.append(repr(path))
        prefix = c.successor()
    assert len(seen) == len(set(seen)) == 2 * 3 * (6 + 1) * 2


def test_structures_grow_with_the_bound_and_each_is_a_valid_case_the_rules_confirm() -> None:
    two, three = list(every_structure(2)), list(every_structure(3))
    assert {len(s.graph) for s in two} == {2} and {len(s.graph) for s in three} == {2, 3}
    assert {key(s) for s in two} < {key(s) for s in three}  # a bound only adds structures
    assert len({key(s) for s in three}) == len(three)  # each once
    for s in three:
        lengths = {t: LENGTHS["jagged"](b) for t, b in s.blocks.items()}
        case = parse_case(json.loads(Case("e", 0, s.spec(lengths), s.expect_deferred).dumps()))  # a valid file
        assert expect_from_spec(case.spec) == s.expect  # the generator's notes and the rules agree
    reasons = {r for s in three for tiles in s.expect.values() for r in tiles.values()}
    assert {
        "tile-not-unique",
        "no-uses",
        "axis-not-moved",
        "rank-2",
        "reshape",
        "second-use",
        "nonzero-fill",
    } <= reasons


def test_each_worker_resumes_its_own_share_and_the_tally_counts_whole_structures() -> None:
    p = plan(2)
    shares = [[c.name for c, _ in cases(p, w, 2, None)] for w in range(2)]
    every = [c.name for c, _ in cases(p, 0, 1, None)]
    assert sorted(itertools.chain(*shares)) == sorted(every) and len(every) == len(p.structures) * len(LENGTHS)
    assert [c.name for c, _ in cases(p, 1, 2, 3)] == shares[1][
        -3:
    ]  # a replacement starts where its predecessor stopped
    assert parse_name(case_name(2, 7, p.structures[7], "single")) == (2, 7) and parse_name("mixed-abc.0") is None
    tally = Tally(p)
    for name in every[:-1]:
        tally.add(name)
    assert tally.checked() == {2: len(p.structures) - 1}  # the last structure misses an instance
    assert tally.to_json()["structures"] == {"2": len(p.structures)}


def test_exhaust_checks_every_structure_up_to_k_and_says_how_many(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [sys.executable, "-m", "fuzzpass", "exhaust", "--max-nodes", "2", "--jobs", "2", "--seed", "1",
               "--out", str(out), "--quiet"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    total = len(plan(2).structures)
    assert f"{total} structures of at most 2 nodes ({total} of 2)" in run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["exhaust"]["structures"] == summary["exhaust"]["checked"] == {"2": total}
    assert summary["cases"] == total * len(LENGTHS) and summary["stopped"] == "every structure checked"
    assert summary["findings"] == []


@pytest.mark.parametrize("mutant", ["drop-remask"])
def test_a_mutant_is_killed_by_a_structure_of_four_nodes(mutant: str) -> None:
    from fuzzpass.judge.checked import Config, check

    config = Config(mutant=mutant)
    for s in every_structure(4):  # the first structure the mutant gets wrong, smallest first
        if len(s.graph) == 4 and any("deferred" in tiles.values() for tiles in s.expect.values()):
            case = next(c for c, _ in cases(plan_of(s), 0, 1, None))
            checked = check(case, config, s.expect)
            if checked.signature is not None and checked.signature.blames_pass:
                return
    pytest.fail(f"{mutant} survived every structure of four nodes that defers")


def plan_of(s: Structure) -> Plan:
    return Plan(4, (s,))


def test_the_relayouts_policy_puts_a_rank_changing_op_on_every_path_it_can() -> None:
    three = list(every_structure(3, EXHAUST_POLICIES["relayouts"]))
    ops = {n.op for s in three for n in s.graph}
    assert {"squeeze", "unsqueeze", "subscript", "expand"} <= ops
    for s in three:  # a load's only use at three nodes is the rank change, or the store itself
        lengths = {t: LENGTHS["single"](b) for t, b in s.blocks.items()}
        parse_case(json.loads(Case("e", 0, s.spec(lengths), s.expect_deferred).dumps()))


def test_differing_keeps_only_the_structures_a_pass_compiles_otherwise() -> None:
    deferred = spec(
        {"q": ("t0", 2, 8)},
        node("load", "x", src="q"),
        node("permute", "p", arg="x", dims=[1, 2, 0]),
        node("sum", "s", arg="p", axis=2),
        node("store", arg="s", dst="out"),
    )
    kept = spec({"q": ("t0", 2, 8)}, node("load", "x", src="q"), node("store", arg="x", dst="out"))
    inverted = MUTANTS["inverted-gate"]
    assert differs(structure_of(deferred), inverted) and not differs(structure_of(kept), inverted)
    p = plan(3, "relayouts", differing=inverted)
    assert p.structures == () and p.enumerated == len(list(every_structure(3, EXHAUST_POLICIES["relayouts"])))
    assert f"0 structures of at most 3 nodes (of {p.enumerated}: where the pass under test differs" in sizes_line(p)


def test_differing_needs_a_pass_to_differ_from(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fuzzpass", "exhaust", "--max-nodes", "2", "--differing", "--out", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stderr.strip().endswith("give --pass or --mutant (differing from what?)")
