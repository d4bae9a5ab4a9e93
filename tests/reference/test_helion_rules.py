"""The rules per Helion (``reference/neighbours.py``, ``fuzzpass/backends/helion_rules.py``): which
rules a Helion has, read from its source, and each rule absent doing what a Helion without it
does. The "second Helion" is the installed package copied and edited, so nothing needs the
network or another install."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.backends import helion_rules
from fuzzpass.core.case import Case, parse_case
from fuzzpass.judge import check
from fuzzpass.judge.verdict import Kind
from reference.compile import compile_variant
from reference.graph import build_graph
from reference.masking import cached_masked_value, recompute_masked_values
from reference.neighbours import RULES, Neighbours, for_helion, using
from reference.ops.base import MaskedValue
from reference.ops.mask import _mask_to

ALL = frozenset(RULES)


def without(*names: str) -> Neighbours:
    return for_helion(ALL - set(names))


def case(graph: list[dict[str, Any]], inputs: dict[str, Any]) -> Case:
    return parse_case(
        {
            "format": "fuzzpass.case/1",
            "name": "helion-rules",
            "seed": 3,
            "dtype": "float32",
            "tiles": {"t0": {"block": 16, "lengths": [13, 16, 7, 11]}},
            "inputs": inputs,
            "graph": graph,
        }
    )


def dot_case(lhs_ops: list[dict[str, Any]] | None = None, lhs: str = "xt") -> Case:
    """A load of ``q`` (the masked tile major) permuted so the tile is ``hl.dot``'s K, times a
    loaded ``v`` of ``[4, t0, 64]``."""
    graph = [
        {"out": "x", "op": "load", "src": "q"},
        {"out": "xt", "op": "permute", "arg": "x", "dims": [1, 2, 0]},
        *(lhs_ops or []),
        {"out": "w", "op": "load", "src": "v"},
        {"out": "s", "op": "dot", "lhs": lhs, "rhs": "w"},
        {"op": "store", "arg": "s", "dst": "out"},
    ]
    return case(graph, {"q": {"shape": ["t0", 4, 128]}, "v": {"shape": [4, "t0", 64]}})


def summed(ops: list[dict[str, Any]], inputs: dict[str, Any], arg: str = "y") -> Case:
    """``ops`` after an eager load ``x`` of ``q``, then ``arg`` summed over the tile (zero-filled first)."""
    graph = [
        {"out": "x", "op": "load", "src": "q"},
        *ops,
        {"out": "r", "op": "sum", "arg": arg, "axis": 0},
        {"op": "store", "arg": "r", "dst": "out"},
    ]
    return case(graph, inputs)


def masked_values(c: Case, rules: Neighbours) -> dict[str, MaskedValue]:
    """Every named value's masked value under ``rules``, before the pass."""
    with using(rules):
        graph = build_graph(c.spec)
        recompute_masked_values(graph)
        return {n.meta["var"]: cached_masked_value(n) for n in graph.nodes if "var" in n.meta}


# -- which rules a Helion has, read from its source -------------------------------------------


def installed_root() -> Path:
    spec = importlib.util.find_spec("helion")
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))).parent


def helion_copy(dest: Path, edits: dict[str, list[tuple[str, str]]]) -> Path:
    """The installed ``helion/`` copied under ``dest``, with ``edits`` (file -> (old, new),
    each old text required to be there) made to the copy."""
    shutil.copytree(installed_root() / "helion", dest / "helion", ignore=shutil.ignore_patterns("__pycache__"))
    for file, pairs in edits.items():
        path = dest / file
        text = path.read_text()
        for old, new in pairs:
            assert old in text, f"{file}: {old!r} is not in the installed Helion"
            text = text.replace(old, new)
        path.write_text(text)
    return dest


NO_DOTS_RULE = ("helion/_compiler/node_masking.py", [("_dots_zeroed_by_partner", "_partner_rule_removed")])
NO_K_MASKS = ("helion/language/matmul_ops.py", [("return apply_masking(mat, base_node=node, other=0)", "return mat")])
NO_STRICT_FLOAT = ("helion/_compiler/node_masking.py", [("strict_float", "fast_math_product")])
NO_BROADCASTS = (
    "helion/_compiler/node_masking.py",
    [("def broadcasts_onto_masked_lanes", "def _broadcast_rule_removed")],
)
NO_EXPAND = ("helion/_compiler/aten_lowering.py", [("def expand_masked_value", "def _expand_rule_removed")])


def edits(*removed: tuple[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for file, pairs in removed:
        found.setdefault(file, []).extend(pairs)
    return found


def test_the_installed_helion_has_all_five_rules() -> None:
    assert (
        helion_rules.present(installed_root())
        == ALL
        == {
            "dots_zeroed_by_partner",
            "strict_float",
            "broadcasts_onto_masked_lanes",
            "mask_along_k",
            "expand_masked_value",
        }
    )
    assert helion_rules.describe(ALL) == "Helion's rules as in 1.5.1 (all 5)"
    assert helion_rules.modelled().absent == frozenset()


def test_a_helion_without_two_rules_is_read_as_without_them(tmp_path: Path) -> None:
    root = helion_copy(tmp_path, edits(NO_DOTS_RULE, NO_K_MASKS))
    assert helion_rules.present(root) == {"strict_float", "broadcasts_onto_masked_lanes", "expand_masked_value"}
    assert helion_rules.describe(helion_rules.present(root)) == (
        "Helion 1.5.1's rules without dots_zeroed_by_partner, mask_along_k (3 of 5)"
    )
    assert helion_rules.present(installed_root()) == ALL  # the copy changed nothing else


def test_a_helion_without_any_rule_is_read_as_1_5_0(tmp_path: Path) -> None:
    root = helion_copy(tmp_path, edits(NO_DOTS_RULE, NO_K_MASKS, NO_STRICT_FLOAT, NO_BROADCASTS, NO_EXPAND))
    assert helion_rules.present(root) == frozenset()
    assert helion_rules.describe(frozenset()) == "Helion's rules as in 1.5.0 (none of 1.5.1's 5)"


def test_a_helion_missing_a_file_lacks_that_files_rules(tmp_path: Path) -> None:
    (tmp_path / "helion" / "language").mkdir(parents=True)
    assert helion_rules.present(tmp_path) == frozenset()


def test_an_unknown_rule_is_named() -> None:
    with pytest.raises(ValueError, match="unknown rule fast_math"):
        Neighbours(absent={"fast_math"})
    with pytest.raises(ValueError, match="unknown rule fast_math"):
        for_helion({"strict_float", "fast_math"})


# -- each rule absent, as a Helion without it decides -------------------------------------------


def test_hl_dot_masking_along_k_defers() -> None:
    variant = compile_variant(dot_case().spec, "on")
    assert variant.deferred()["x"] == ["t0"]  # the dot's K mask discharges it


def test_hl_dot_without_k_masks_keeps_eager_mask() -> None:
    rules = without("mask_along_k")
    variant = compile_variant(dot_case().spec, "on", rules=rules)
    assert variant.deferred()["x"] == []
    assert variant.decisions["x"].reasons["t0"] == "second-use"  # the dot is a use, not a remask
    assert not list(variant.graph.find_nodes(op="call_function", target=_mask_to))
    assert rules.taken == set()  # nothing deferred, nothing a rule decided


def test_mul_by_inf_without_strict_float_is_zero() -> None:
    c = summed([{"out": "y", "op": "mul", "arg": "x", "scalar": "inf"}], {"q": {"shape": ["t0", 4, 128]}})
    strict, inductor = Neighbours(), without("strict_float")
    assert masked_values(c, strict)["y"] is None
    assert "strict_float:may-not-be-finite" in strict.taken
    assert masked_values(c, inductor)["y"] == 0.0  # Inductor's product: 0 times anything is 0
    assert not any(b.startswith("strict_float:") for b in inductor.taken)
    assert compile_variant(c.spec, "off").removed_masks == []
    assert compile_variant(c.spec, "off", rules=without("strict_float")).removed_masks == ["y_masked"]


def test_a_broadcast_input_without_the_rule_carries_its_masked_value() -> None:
    inputs = {"q": {"shape": ["t0", 1, 128]}, "p": {"shape": ["t0", 4, 128]}}
    ops = [{"out": "z", "op": "load", "src": "p"}, {"out": "y", "op": "add", "lhs": "x", "rhs": "z"}]
    c = summed(ops, inputs)
    helion, carried = Neighbours(), without("broadcasts_onto_masked_lanes")
    assert masked_values(c, helion)["y"] is None  # x's real row lies on y's padded lanes of dim 1
    assert "broadcasts_onto_masked_lanes:broadcast" in helion.taken
    assert masked_values(c, carried)["y"] == 0.0
    assert carried.taken == set()
    assert compile_variant(c.spec, "off", rules=without("broadcasts_onto_masked_lanes")).removed_masks == ["y_masked"]


def test_an_expand_without_the_rule_passes_its_masked_value_through() -> None:
    c = summed([{"out": "y", "op": "expand", "arg": "x", "dim": 1, "size": 8}], {"q": {"shape": ["t0", 1, 128]}})
    assert masked_values(c, Neighbours())["y"] is None
    assert masked_values(c, without("expand_masked_value"))["y"] == 0.0
    assert compile_variant(c.spec, "off").removed_masks == []
    assert compile_variant(c.spec, "off", rules=without("expand_masked_value")).removed_masks == ["y_masked"]


def test_a_dot_operand_without_the_partner_rule_keeps_its_mask() -> None:
    c = dot_case([{"out": "y", "op": "exp", "arg": "xt"}], lhs="y")  # exp(0) = 1: not zero past K
    assert "y_masked" in compile_variant(c.spec, "off").removed_masks  # the partner's zeros clear it
    rules = without("dots_zeroed_by_partner")
    variant = compile_variant(c.spec, "off", rules=rules)
    assert "y_masked" not in variant.removed_masks
    assert not any(b.startswith("dots_zeroed_by_partner:") for b in variant.neighbour_branches)


# -- the differential compiles the reference with the imported Helion's rules -------------------


def test_the_check_against_helion_compiles_with_its_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Against a Helion without ``hl.dot``'s K masks the reference keeps ``x``'s eager mask, as
    that Helion does; the case's expectation (1.5.1's rules: deferred) is no finding."""
    made: list[Neighbours] = []

    def modelled() -> Neighbours:
        made.append(for_helion(ALL - {"mask_along_k"}))
        return made[-1]

    monkeypatch.setattr(helion_rules, "modelled", modelled)
    monkeypatch.setattr(check, "run_helion", lambda *args, **kwargs: None)
    c = dot_case()
    result = check.check_case(c, backend="helion", generations=())
    assert result.deferred["x"] == []
    assert len(made) == 2 and made[0] is not made[1]  # a fresh set per variant
    assert not [f for f in result.findings if f.kind is Kind.DECISION]
