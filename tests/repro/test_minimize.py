"""``fuzzpass minimize``: smaller cases that fail the same way, with the rules' expectation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.core.case import Case, parse_case
from fuzzpass.core.expect import expect_from_spec
from fuzzpass.judge.check import check_case
from fuzzpass.judge.checked import Config
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.repro.minimize import minimize, remove_dim, size
from reference.spec import KernelSpec
from tests.specs import node, spec


def big_drop_remask_case() -> Case:
    """Eight nodes around one deferrable path: two permutes, a dot, a second output."""
    s = spec(
        {"q": (2, "t0", 4, 8), "k": (2, 8, 3)},
        node("load", "x", src="q"),
        node("permute", "a", arg="x", dims=[1, 0, 2, 3]),
        node("permute", "b", arg="a", dims=[1, 2, 3, 0]),
        node("sum", "s", arg="b", axis=3),
        node("store", arg="s", dst="out"),
        node("load", "kt", src="k"),
        node("neg", "n", arg="kt"),
        node("store", arg="n", dst="other"),
        block=8,
        lengths=(5, 13, 3),
        dtype="bfloat16",
    )
    return Case("big", 11, s, {"x": ("t0",), "kt": ()})


def test_a_mutant_finding_shrinks_to_four_nodes_and_rank_three() -> None:
    config = Config(mutant="drop-remask", poison="finite")
    case = big_drop_remask_case()
    assert size(case.to_json()) == (8, 4)
    lines: list[str] = []
    result = minimize(case, config, seconds=60, log=lines.append)
    nodes, rank = size(result.case.to_json())
    assert nodes <= 4 and rank <= 3, result.case.dumps()
    assert result.target == ("mismatch", "deferred variant")
    assert len(lines) == len(result.steps) + 1 and "-> " in lines[-1]  # each accepted step printed
    # the smaller graph's expectation comes from the rules, and the real pass meets it
    assert result.case.expect_deferred == {
        load: tuple(t for t, r in tiles.items() if r == "deferred")
        for load, tiles in expect_from_spec(result.case.spec).items()
    }
    assert check_case(result.case, backend="interpret", poison="finite").verdict.value == "pass"


def test_a_passing_case_has_nothing_to_minimize() -> None:
    with pytest.raises(ValueError, match="nothing to minimize"):
        minimize(big_drop_remask_case(), Config(poison="finite"), seconds=10, log=lambda line: None)


def as_json(s: KernelSpec) -> dict:
    return Case("t", 0, s, None).to_json()


def test_remove_dim_renumbers_permutes_and_reductions() -> None:
    s = spec(
        {"q": ("t0", 3, 4)},
        node("load", "x", src="q"),
        node("permute", "p", arg="x", dims=[2, 0, 1]),
        node("sum", "r", arg="p", axis=2),
        node("store", arg="r", dst="out"),
    )
    smaller = remove_dim(as_json(s), "q", 1)
    assert smaller is not None
    assert smaller["inputs"]["q"]["shape"] == ["t0", 4]
    assert [n.get("dims") for n in smaller["graph"]][1] == [1, 0]
    assert "r" not in [n.get("out") for n in smaller["graph"]]  # it summed the removed dim: bypassed
    parse_case(smaller)


def test_remove_dim_follows_a_dot_pair_and_refuses_half_a_pair() -> None:
    s = spec(
        {"q": ("t0", 4, 8), "k": (4, 8, 2)},
        node("load", "x", src="q"),
        node("permute", "p", arg="x", dims=[1, 0, 2]),
        node("load", "y", src="k"),
        node("dot_general", "d", lhs="p", rhs="y", contract=[[2], [1]], batch=[[0], [0]]),
        node("store", arg="d", dst="out"),
    )
    assert remove_dim(as_json(s), "q", 1) is None  # batched with a dim of k that stays
    smaller = remove_dim(as_json(s), "k", 2)  # a free rhs dim
    assert smaller is not None
    parse_case(smaller)


def test_cli_minimize_writes_the_case_and_reads_the_findings_verdict(tmp_path: Path) -> None:
    case = big_drop_remask_case()
    (tmp_path / "case.json").write_text(case.dumps())
    (tmp_path / "verdict.json").write_text(
        json.dumps({"verdict": "mismatch", "poison": "finite", "mutant": "drop-remask"})
    )
    run = subprocess.run(
        [sys.executable, "-m", "fuzzpass", "minimize", str(tmp_path / "case.json"), "-o", str(tmp_path / "min.json"),
         "--seconds", "30"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "poison finite, mutant drop-remask" in run.stderr
    assert "nodes" in run.stderr.splitlines()[-1]
    smaller = json.loads((tmp_path / "min.json").read_text())
    assert size(smaller) < size(case.to_json())
    still = check_case(parse_case(smaller), backend="interpret", poison="finite", mutant=MUTANTS["drop-remask"])
    assert still.verdict.value == "mismatch"  # the same failure, smaller


FORCED_ONLY = {
    "format": "fuzzpass.case/1", "name": "forced-only", "seed": 549, "dtype": "float32",
    "tiles": {"t0": {"block": 3, "lengths": [1, 2]}},
    "inputs": {"q1": {"shape": ["t0", 1]}},
    "graph": [
        {"out": "x2", "op": "load", "src": "q1"},
        {"out": "p3", "op": "permute", "arg": "x2", "dims": [1, 0]},
        {"out": "d7", "op": "sum", "arg": "p3", "axis": 1},
        {"op": "store", "arg": "d7", "dst": "out1"},
    ],
    "expect": {"deferred": {"x2": []}},
}  # fmt: skip
"""drop-remask's forced kernel (the gate audit's other choice) is wrong here; its deferred
kernel is the eager one, since the pass keeps this load's mask."""


def test_a_finding_in_the_gate_audits_forced_kernel_is_minimized_with_the_audit(tmp_path: Path) -> None:
    (tmp_path / "case.json").write_text(json.dumps(FORCED_ONLY))
    (tmp_path / "verdict.json").write_text(json.dumps({
        "verdict": "mismatch", "poison": "nan", "mutant": "drop-remask", "audited": {"forced": {}},
        "findings": [{"kind": "mismatch", "stage": "verify", "variant": "forced", "message": "beyond tolerance"}],
        "gate": {"counts": {"v6e": {"eager": 285, "deferred": 285, "forced": 282}}},
    }))  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-m", "fuzzpass", "minimize", str(tmp_path / "case.json"), "-o", str(tmp_path / "min.json"),
         "--seconds", "10"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr  # without the audit the case passes: nothing to minimize
    assert "nodes" in run.stderr.splitlines()[-1]
    smaller = json.loads((tmp_path / "min.json").read_text())
    assert size(smaller) <= size(FORCED_ONLY)
    still = check_case(parse_case(smaller), backend="interpret", poison="nan", mutant=MUTANTS["drop-remask"], gate=())
    assert [(f.kind.value, f.variant) for f in still.findings if f.variant == "forced"] == [("mismatch", "forced")]
