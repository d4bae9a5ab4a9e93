"""The generators draw valid cases by construction, and their oracle is the pass's spec."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzzpass.core.case import parse_case
from fuzzpass.core.expect import Outcome, expect_from_spec, expected_reason
from generators.examples import Example, examples
from generators.lengths import DISTRIBUTIONS, jagged
from generators.policies import POLICIES, REDUCING_KINDS, SWARM_KINDS, swarm
from reference.compile import compile_variant
from reference.spec import TileSpec

ELEMENTWISE = {"exp", "neg", "abs", "add", "sub", "mul", "maximum"}


def ops_of(example: Example) -> set[str]:
    return {n.op for n in example.structure.graph}


@pytest.mark.parametrize("policy", POLICIES)
def test_every_drawn_case_is_a_valid_case_file(policy: str) -> None:
    @given(examples(POLICIES[policy]))
    def drawn(example: Example) -> None:
        for case in example.cases("t"):
            again = parse_case(case.to_json())  # the case file format's own validation
            assert again.spec == case.spec and again.expect_deferred == case.expect_deferred

    drawn()


@pytest.mark.parametrize("policy", POLICIES)
def test_oracle_agrees_with_the_real_pass(policy: str) -> None:
    """By construction the generator knows each decision; the reference pass must agree."""

    @given(examples(POLICIES[policy]))
    def drawn(example: Example) -> None:
        spec = example.cases("t")[0].spec
        assert expect_from_spec(spec) == example.structure.expect  # the same rules, read off the case
        decisions = compile_variant(spec, "on").decisions
        for load, tiles in example.structure.expect.items():
            for tile, expected in tiles.items():
                got = decisions[load].reasons[tile]
                assert (got == "deferred") == (expected == "deferred"), (load, tile, got, expected)

    drawn()


def test_policies_lean_the_way_they_say() -> None:
    leaning = ("mixed", "deferrable", "negative", "gate-boundary", "relayouts")
    deferred = dict.fromkeys(leaning[:3], 0)
    kept_by_structure = runs = 0
    at_boundary, relayouts = [0], [0]

    @settings(max_examples=300)
    @given(st.data())
    def count(data: st.DataObject) -> None:
        nonlocal kept_by_structure, runs
        drawn = {name: data.draw(examples(POLICIES[name])) for name in leaning}
        runs += 1  # only once every draw succeeded: a rejected draw ends the example uncounted
        boundary = drawn["gate-boundary"].structure
        shape = boundary.inputs[boundary.graph[0]["src"]]
        at_boundary[0] += shape.index("t0") in (len(shape) - 3, len(shape) - 2)
        relayouts[0] += any(
            n.op in ("squeeze", "unsqueeze", "subscript", "expand") for n in drawn["relayouts"].structure.graph
        )
        for name, example in drawn.items():
            if name not in deferred:
                continue
            first = next(iter(example.structure.expect.values()))
            deferred[name] += any(r == "deferred" for r in first.values())
            if name == "negative":
                kept_by_structure += all(r != "deferred" for r in first.values())

    count()
    assert deferred["deferrable"] > 0.8 * runs  # its main load is deferred nearly always
    assert deferred["negative"] == 0 and kept_by_structure == runs
    assert 0 < deferred["mixed"] < runs
    assert at_boundary[0] == runs  # the main load's tile next to the major/last-two boundary, every time
    assert relayouts[0] > 0.5 * runs  # a rank-changing op on a path four times in five (where one fits)


@settings(max_examples=40)
@given(st.randoms(use_true_random=False))
def test_swarm_keeps_a_reducing_kind(rng: random.Random) -> None:
    disabled = swarm(rng)
    assert disabled <= set(SWARM_KINDS)
    assert any(k not in disabled for k in REDUCING_KINDS)


@settings(max_examples=40)
@given(st.data())
def test_swarm_subset_is_respected(data: st.DataObject) -> None:
    disabled = swarm(random.Random(data.draw(st.integers(0, 10**6))))
    example = data.draw(examples(POLICIES["mixed"], disabled))
    ops = ops_of(example)
    banned = {k for k in disabled if k != "elementwise"} | (ELEMENTWISE if "elementwise" in disabled else set())
    # finishing sums (to make a value storable) are structural, not the drawn consumer
    assert not (ops - {"sum"}) & banned


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_length_distributions(dist: str) -> None:
    @given(st.sampled_from([1, 3, 8, 16, 128]).flatmap(lambda b: st.tuples(st.just(b), jagged(b, dist))))
    def drawn(pair: tuple[int, tuple[int, ...]]) -> None:
        block, lengths = pair
        assert lengths and all(n >= 0 for n in lengths)
        assert len(TileSpec(block, lengths).work_items()) <= 12
        if dist == "uniform":
            assert len(set(lengths)) == 1
        elif dist == "ramp":
            assert list(lengths) == sorted(lengths)
        elif dist == "boundary":
            assert all(n % block in {0, 1 % block, (block - 1) % block} for n in lengths)
        elif dist == "zero":
            assert 0 in lengths or len(TileSpec(block, (*lengths, 0)).work_items()) > 12
        elif dist == "single":
            assert len(lengths) == 1

    drawn()


def remask(fill: float, at: int, rank: int = 3) -> Outcome:
    return Outcome("remask", fill, {"t0": at}, rank)


@pytest.mark.parametrize(
    ("shape", "outcomes", "reason"),
    [
        (("t0", 4, 8), [remask(0.0, 2)], "deferred"),
        (("t0", 4, 8), [remask(0.0, 2), remask(0.0, 1)], "deferred"),
        (("t0", 4, 8), [remask(0.0, 0)], "axis-not-moved"),
        ((4, "t0", 8, 8), [remask(0.0, 0, 4)], "not-last-two-at-consumer"),
        (("t0", 4, 8), [remask(0.0, 2), remask(0.0, 0)], "axis-not-moved"),
        (("t0", "t0", 8), [remask(0.0, 2)], "tile-not-unique"),
        (("t0", "t0"), [], "tile-not-unique"),
        ((4, "t0", 8), [remask(0.0, 2)], "last-two-at-load"),
        (("t0", 8), [remask(0.0, 1, 2)], "rank-2"),
        (("t0", 4, 8), [remask(-float("inf"), 2)], "nonzero-fill"),
        (("t0", 4, 8), [remask(0.0, 2), Outcome("other")], "second-use"),
        (("t0", 4, 8), [Outcome("reshape")], "reshape"),
        (("t0", 4, 8), [], "no-uses"),
    ],
)
def test_expected_reason(shape: tuple, outcomes: list[Outcome], reason: str) -> None:
    assert expected_reason(shape, "t0", outcomes) == reason


def _drawn(seed_: int) -> list[str]:
    """The first 200 examples of ``mixed`` that ``seed_`` draws, as text."""
    from hypothesis import HealthCheck, Phase
    from hypothesis import seed as hypothesis_seed

    seen: list[str] = []

    @hypothesis_seed(seed_)
    @settings(max_examples=200, database=None, phases=(Phase.generate,), deadline=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(examples(POLICIES["mixed"]))
    def body(example: Example) -> None:
        seen.append(repr(example))

    body()
    return seen


def test_a_seed_draws_the_same_examples_whatever_local_code_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _drawn(42)
    module = tmp_path / "a_users_pass_file.py"
    module.write_text("SIZES = [3, 5, 7, 9, 11, 13, 17, 19, 23, 29, 31, 37, 41, 127, 255, 1023, 4097]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib

    importlib.import_module("a_users_pass_file")
    assert _drawn(42) == before
