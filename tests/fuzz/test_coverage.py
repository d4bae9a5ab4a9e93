"""The coverage table lists every reason the pass can give with the run's gate, a zero
included, and the generators reach each of them, ``tile-not-unique`` with both fates."""

from __future__ import annotations

from collections import Counter
from typing import get_args

import pytest
from hypothesis import HealthCheck, given, settings

from fuzzpass.fuzz.coverage import branches, counts, missing, reasons, table
from generators.policies import POLICIES
from generators.structures import Structure, structures
from reference.gates import GATES
from reference.reasons import Reason


def test_every_reason_of_the_pass_is_listed_once_per_gate() -> None:
    for gate in GATES:
        assert len(reasons(gate)) == len(set(reasons(gate)))
    assert set().union(*(reasons(g) for g in GATES)) == set(get_args(Reason)) - {"mode-off"}


def test_the_table_shows_zero_counts_and_says_which_reasons_no_case_got() -> None:
    given_ = Counter({"deferred": 3, "last-two-at-load": 2})
    lines = table(given_)
    assert any(line.startswith("gate") and "axis-not-moved 0" in line and "not-last-two-at-consumer 0" in line
               for line in lines)  # fmt: skip
    assert any(line.startswith("tile-not-unique") and line.split()[1] == "0" for line in lines)
    assert missing(given_) == [r for r in reasons() if r not in given_]
    assert counts(given_)["no-uses"] == 0 and list(counts(given_)) == list(reasons())
    assert branches(given_) == {"deferred": 3, "gate": 2, "tile-not-unique": 0, "reshape": 0, "second-use": 0,
                                "nonzero-fill": 0, "no-uses": 0}  # fmt: skip
    assert "one-row-block 0" in "\n".join(table(given_, "layout"))


@pytest.mark.parametrize(("policy", "fates"), [("mixed", {"refused", "dead"}), ("deferrable", {"refused", "both"})])
def test_the_policies_draw_a_tile_in_two_dims_and_a_dead_load(policy: str, fates: set[str]) -> None:
    found: dict[str, Structure] = {}

    @settings(max_examples=3000, database=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(structures(POLICIES[policy]))
    def draw(s: Structure) -> None:
        for tiles in s.expect.values():
            if "tile-not-unique" in tiles.values():
                found.setdefault("refused", s)
                if "deferred" in tiles.values():  # the other tile of the same load
                    found.setdefault("both", s)
            if "no-uses" in tiles.values():
                found.setdefault("dead", s)

    draw()
    assert fates <= set(found), sorted(found)
