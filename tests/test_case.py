"""Case files: the examples parse and round-trip; each broken variant names its field."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.core.case import CaseError, load_case, parse_case

CASES = Path(__file__).parents[1] / "examples"
DENSE_KV = json.loads((CASES / "dense-kv-q-transpose-dot.json").read_text())

Mutation = Callable[[dict[str, Any]], Any]


@pytest.mark.parametrize("path", sorted(CASES.glob("*.json")), ids=lambda p: p.stem)
def test_example_case_round_trips(path: Path) -> None:
    case = load_case(path)
    assert case.name == path.stem
    assert parse_case(json.loads(case.dumps())) == case
    assert case.to_json() == json.loads(path.read_text())


def test_to_json_key_order_and_store_has_no_out() -> None:
    data = parse_case(DENSE_KV).to_json()
    assert list(data) == ["format", "name", "seed", "dtype", "tiles", "inputs", "graph", "expect"]
    assert list(data["graph"][1]) == ["out", "op", "arg", "dims"]
    assert list(data["graph"][-1]) == ["op", "arg", "dst"]


def test_case_owns_its_lists() -> None:
    data = copy.deepcopy(DENSE_KV)
    case = parse_case(data)
    data["graph"][1]["dims"].reverse()
    assert case.spec.graph[1]["dims"] == [1, 0, 2]


def put(path: tuple[str | int, ...], value: Any) -> Mutation:
    """Set the entry at ``path`` to ``value``."""

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path
        target: Any = data
        for key in parents:
            target = target[key]
        target[last] = value
        return data

    return mutate


def drop(*path: str | int) -> Mutation:
    """Delete the entry at ``path``."""

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        *parents, last = path
        target: Any = data
        for key in parents:
            target = target[key]
        del target[last]
        return data

    return mutate


def insert(index: int, node: dict[str, Any]) -> Mutation:
    """Insert graph node ``node`` before ``graph[index]``."""

    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        data["graph"].insert(index, node)
        return data

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict[str, Any]) -> dict[str, Any]:
        for m in mutations:
            data = m(data)
        return data

    return mutate


TWO_TILES = put(("tiles", "t1"), {"block": 16, "lengths": [16]})

BROKEN = [
    # top level
    ("not-an-object", lambda d: [d], "case", "expected an object"),
    ("format-missing", drop("format"), "format", "missing"),
    ("format-wrong", put(("format",), "fuzzpass.case/2"), "format", "'fuzzpass.case/1'"),
    ("unknown-top-key", put(("comment",), "hi"), "comment", "unknown field"),
    ("name-missing", drop("name"), "name", "missing"),
    ("name-not-string", put(("name",), 5), "name", "expected a string"),
    ("seed-bool", put(("seed",), True), "seed", "expected an integer, got true"),
    ("seed-negative", put(("seed",), -1), "seed", ">= 0"),
    ("seed-float", put(("seed",), 7.0), "seed", "expected an integer"),
    ("dtype-unknown", put(("dtype",), "float64"), "dtype", "bfloat16"),
    # tiles
    ("tiles-empty", put(("tiles",), {}), "tiles", "at least one"),
    (
        "tiles-three",
        put(("tiles",), {f"t{i}": {"block": 8, "lengths": [8]} for i in range(3)}),
        "tiles",
        "at most 2",
    ),
    ("tile-name-invalid", put(("tiles", "t-1"), {"block": 8, "lengths": [8]}), "tiles.t-1", "not a Python identifier"),
    ("tile-name-reserved", put(("tiles", "mask_t"), {"block": 8, "lengths": [8]}), "tiles.mask_t", "reserved"),
    ("block-zero", put(("tiles", "t0", "block"), 0), "tiles.t0.block", ">= 1"),
    ("block-missing", drop("tiles", "t0", "block"), "tiles.t0.block", "missing"),
    ("tile-unknown-key", put(("tiles", "t0", "size"), 3), "tiles.t0.size", "unknown field"),
    ("lengths-empty", put(("tiles", "t0", "lengths"), []), "tiles.t0.lengths", "at least one"),
    ("length-negative", put(("tiles", "t0", "lengths", 2), -7), "tiles.t0.lengths[2]", ">= 0"),
    # inputs
    ("inputs-empty", put(("inputs",), {}), "inputs", "at least one"),
    ("input-name-keyword", put(("inputs", "lambda"), {"shape": [4]}), "inputs.lambda", "not a Python identifier"),
    ("shape-empty", put(("inputs", "k", "shape"), []), "inputs.k.shape", "at least one"),
    ("shape-rank-5", put(("inputs", "k", "shape"), [1, 1, 4, 16, 128]), "inputs.k.shape", "at most 4"),
    ("shape-zero", put(("inputs", "k", "shape", 1), 0), "inputs.k.shape[1]", "integer >= 1 or a tile name"),
    (
        "shape-undeclared-tile",
        put(("inputs", "q", "shape", 0), "t1"),
        "inputs.q.shape[0]",
        "'t1' is not a declared tile",
    ),
    # graph structure
    ("graph-empty", put(("graph",), []), "graph", "at least one"),
    ("node-not-object", put(("graph", 0), "load q"), "graph[0]", "expected an object"),
    ("op-missing", drop("graph", 1, "op"), "graph[1].op", "missing"),
    ("op-unknown", put(("graph", 1, "op"), "transpose"), "graph[1].op", 'unknown op "transpose" (known: abs, add'),
    ("op-internal", put(("graph", 1, "op"), "_mask_to"), "graph[1].op", "unknown op"),
    ("out-missing", drop("graph", 0, "out"), "graph[0].out", "missing"),
    ("out-on-store", put(("graph", 5, "out"), "o"), "graph[5].out", "takes no 'out'"),
    ("out-redefined", put(("graph", 2, "out"), "x"), "graph[2].out", "'x' is already defined by graph[0]"),
    ("out-reserved", put(("graph", 0, "out"), "kernel"), "graph[0].out", "reserved"),
    ("field-missing", drop("graph", 1, "dims"), "graph[1].dims", "missing"),
    ("field-unknown", put(("graph", 0, "axis"), 0), "graph[0].axis", "unknown field 'axis'"),
    ("no-store", drop("graph", 5), "graph", "no store"),
    # field kinds
    ("value-not-string", put(("graph", 1, "arg"), ["x"]), "graph[1].arg", "expected the name of an earlier 'out'"),
    ("input-unknown", put(("graph", 0, "src"), "v"), "graph[0].src", '"v" is not an input'),
    ("ints-float", put(("graph", 1, "dims"), [1, 0, 2.0]), "graph[1].dims[2]", "expected an integer"),
    ("int-string", put(("graph", 4, "axis"), "1"), "graph[4].axis", "expected an integer"),
    ("pairs-one-list", put(("graph", 3, "contract"), [[2]]), "graph[3].contract", "expected two lists"),
    ("pairs-bool", put(("graph", 3, "batch"), [[0], [False]]), "graph[3].batch[1][0]", "expected an integer"),
    (
        "number-nan",
        insert(5, {"out": "r2", "op": "mul", "arg": "r", "scalar": float("nan")}),
        "graph[5].scalar",
        "finite number",
    ),
    ("number-bool", insert(5, {"out": "r2", "op": "add", "arg": "r", "scalar": True}), "graph[5].scalar", "number"),
    ("dtype-field", insert(5, {"out": "c", "op": "cast", "arg": "r", "dtype": "int8"}), "graph[5].dtype", "int8"),
    ("dst-invalid", put(("graph", 5, "dst"), "out put"), "graph[5].dst", "not a Python identifier"),
    ("dst-is-input", put(("graph", 5, "dst"), "k"), "graph[5].dst", "already an input"),
    ("dst-twice", insert(6, {"op": "store", "arg": "s", "dst": "out"}), "graph[6].dst", "earlier store"),
    # references and shape rules (build_graph)
    ("arg-later-out", put(("graph", 1, "arg"), "s"), "graph[1].arg", "'s' names no earlier 'out'"),
    ("arg-unknown-out", put(("graph", 4, "arg"), "nope"), "graph[4].arg", "'nope' names no earlier 'out'"),
    ("permute-not-permutation", put(("graph", 1, "dims"), [0, 0, 2]), "graph[1].dims", "not a permutation"),
    ("dot-contract-size", put(("graph", 3, "contract"), [[1], [2]]), "graph[3].contract", "lhs dim 1 has 16 elements"),
    (
        "reshape-element-count",
        put(("graph", 1), {"out": "xt", "op": "reshape", "arg": "x", "shape": [4, "t0", 100]}),
        "graph[1].shape",
        "elements",
    ),
    (
        "reshape-undeclared-tile",
        put(("graph", 1), {"out": "xt", "op": "reshape", "arg": "x", "shape": [4, "t9", 128]}),
        "graph[1].shape[1]",
        "not a declared tile",
    ),
    ("axis-out-of-range", put(("graph", 4, "axis"), 3), "graph[4].axis", "not a dim of 's'"),
    (
        "squeeze-not-size-one",
        put(("graph", 1), {"out": "xt", "op": "squeeze", "arg": "x", "dim": 1}),
        "graph[1].dim",
        "dim 1 of 'x' is not a plain dim of size 1",
    ),
    (
        "squeeze-a-tile",
        put(("graph", 1), {"out": "xt", "op": "squeeze", "arg": "x", "dim": 0}),
        "graph[1].dim",
        "not a plain dim of size 1",
    ),
    (
        "unsqueeze-out-of-range",
        put(("graph", 1), {"out": "xt", "op": "unsqueeze", "arg": "x", "dim": 4}),
        "graph[1].dim",
        "4 is not a dim of 'x' here (0..3)",
    ),
    (
        "expand-not-size-one",
        put(("graph", 1), {"out": "xt", "op": "expand", "arg": "x", "dim": 2, "size": 8}),
        "graph[1].dim",
        "not a plain dim of size 1",
    ),
    ("subscript-no-dim", put(("graph", 1), {"out": "xt", "op": "subscript", "arg": "x"}), "graph[1].dim", "missing"),
    ("binary-fields", insert(5, {"out": "r2", "op": "add", "lhs": "r"}), "graph[5].op", "either 'lhs' and 'rhs'"),
    (
        "store-part-of-tiles",
        both(TWO_TILES, put(("inputs", "k", "shape", 1), "t1"), drop("expect")),
        "graph[5].arg",
        "every tile dim of the grid or none",
    ),
    # expect
    ("expect-unknown-key", put(("expect", "decided"), {}), "expect.decided", "unknown field"),
    ("expect-deferred-missing", put(("expect",), {}), "expect.deferred", "missing"),
    ("expect-not-a-load", put(("expect", "deferred", "s"), []), "expect.deferred.s", "not the 'out' of a load"),
    ("expect-not-a-list", put(("expect", "deferred", "x"), "t0"), "expect.deferred.x", "expected a list"),
    ("expect-undeclared-tile", put(("expect", "deferred", "x"), ["t9"]), "expect.deferred.x[0]", "not a tile of"),
    ("expect-tile-not-held", put(("expect", "deferred", "kt"), ["t0"]), "expect.deferred.kt[0]", "input 'k'"),
    ("expect-tile-twice", put(("expect", "deferred", "x"), ["t0", "t0"]), "expect.deferred.x[1]", "listed twice"),
]


@pytest.mark.parametrize(("mutate", "field", "message"), [pytest.param(*row[1:], id=row[0]) for row in BROKEN])
def test_broken_variant_names_its_field(mutate: Mutation, field: str, message: str) -> None:
    with pytest.raises(CaseError) as info:
        parse_case(mutate(copy.deepcopy(DENSE_KV)))
    assert info.value.field == field
    assert message in info.value.message
    assert str(info.value) == f"{field}: {info.value.message}"


def test_expect_is_optional() -> None:
    assert parse_case(drop("expect")(copy.deepcopy(DENSE_KV))).expect_deferred is None


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(CaseError) as info:
        load_case(tmp_path / "absent.json")
    assert info.value.field == "file"
    assert "No such file" in info.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param('{\n  "format": "fuzzpass.case/1",\n  "seed": 7,,\n}', "line 3, column 13", id="syntax"),
        pytest.param('{"seed": 1, "seed": 2}', "'seed' appears twice", id="duplicate-key"),
    ],
)
def test_bad_json(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(CaseError) as info:
        load_case(path)
    assert info.value.field == "file"
    assert message in info.value.message


def _permute_chain(n: int) -> dict[str, Any]:
    """The dense-KV case with ``n`` identity permutes before its transpose."""
    data = copy.deepcopy(DENSE_KV)
    chain = [{"out": f"c{i}", "op": "permute", "arg": f"c{i - 1}" if i else "x", "dims": [0, 1, 2]} for i in range(n)]
    data["graph"][1]["arg"] = f"c{n - 1}"
    data["graph"][1:1] = chain
    return data


@pytest.mark.parametrize(
    ("mutate", "field", "message"),
    [
        pytest.param(put(("tiles", "t0", "block"), 1048576), "tiles.t0.block", "GiB; the limit is 4 GiB", id="block"),
        pytest.param(put(("tiles", "t0", "lengths"), [10**9]), "tiles.t0.lengths", "62,500,000 work items", id="rows"),
        pytest.param(put(("tiles", "t0", "lengths"), [13] * 200_000), "tiles.t0.lengths", "200,000 work", id="seqs"),
        pytest.param(lambda data: _permute_chain(400), "graph", "406 nodes; a case has at most 128", id="chain"),
    ],
)
def test_a_case_this_machine_cannot_hold_is_refused_naming_its_field(
    mutate: Mutation, field: str, message: str
) -> None:
    with pytest.raises(CaseError) as info:
        parse_case(mutate(copy.deepcopy(DENSE_KV)))
    assert info.value.field == field and message in info.value.message


def test_the_limits_are_adjustable(monkeypatch: pytest.MonkeyPatch) -> None:
    many = put(("tiles", "t0", "lengths"), [13] * 70_000)(copy.deepcopy(DENSE_KV))
    with pytest.raises(CaseError):
        parse_case(many)
    monkeypatch.setenv("FUZZPASS_MAX_WORK_ITEMS", "100000")
    with pytest.raises(CaseError, match=r"tiles\.t0\.lengths: the case needs about"):
        parse_case(many)  # now its memory is what does not fit
    monkeypatch.setenv("FUZZPASS_MAX_GIB", "100")
    assert len(parse_case(many).spec.tiles["t0"].lengths) == 70_000
    monkeypatch.setenv("FUZZPASS_MAX_GIB", "lots")
    with pytest.raises(CaseError, match="FUZZPASS_MAX_GIB"):
        parse_case(many)


def test_a_long_chain_within_the_limit_is_checked() -> None:
    from fuzzpass.judge.check import check_case

    case = parse_case(_permute_chain(120))
    assert check_case(case, backend="interpret").verdict.value == "pass"
