"""Can any rule over what a gate sees pick the cheaper kernel? ``python bench/gate_fit.py FIT_RUN TEST_RUN``.

Two ``--check-gate`` runs' ``gate.jsonl`` (each line an audited case, its case file and the
eager and forced kernels' static schedules per generation). For every audited case, the
features a gate can read where the pass asks it (the reference pass forced, at the first
deferred tile): the tile's place in the layout at the load and at its consumer masks, the
block, the dtype's packing, each value's size in vector registers (``reference.gates.vregs``),
the consumer's op and its other operands, and for a dot which operand the masked value is,
whether the tile is contracted and where the contracted dim lies. Decision trees of depth 1 to 4
(scikit-learn) are fitted per generation on FIT_RUN's cases where one choice is more than the
margin cheaper, and scored on TEST_RUN's cases as ``gate-report`` scores a gate: a choice
agrees when its schedule is no longer than the other's by more than 5%.

A tree is any rule of that depth over those features, thresholds included: if none fitted on
one seed reaches 99% on another, no gate of that form will without more to read. The positional
gate (Helion's) and the best constant choice are printed beside it, on the same cases.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

JUDGED = ("v5e", "v6e", "tpu7x")
DEPTHS = (1, 2, 3, 4)


def features(case_file: dict[str, Any]) -> list[float] | None:
    """What a gate can read of the case's first tile that forcing defers; None if none is."""
    from fuzzpass.core.case import parse_case
    from fuzzpass.judge.gate import first_deferred
    from reference.compile import compile_variant
    from reference.gates import vregs
    from reference.values import sublane_tile

    spec = parse_case(case_file).spec
    if (first := first_deferred(compile_variant(spec, "force"))) is None:
        return None
    load, tile, masks = first
    value, at = load.meta["value"], masks[0].meta["value"]
    users = [u for m in masks for u in m.users if "value" in u.meta]
    others = [a for u in users for a in u.all_input_nodes if a not in masks and "value" in a.meta]
    return [
        float(sublane_tile(spec.dtype) == 16),
        float(value.shape[value.dim_index(tile)]),
        float(value.rank - 1 - value.dim_index(tile)),
        float(at.rank - 1 - at.dim_index(tile)),
        float(vregs(value)),
        float(sum(vregs(m.meta["value"]) for m in masks)),
        float(at.shape[-1]),
        float(at.shape[-2] if at.rank > 1 else 1),
        float(math.prod(at.shape[:-2])),
        float(sum(vregs(u.meta["value"]) for u in users)),
        float(sum(vregs(a.meta["value"]) for a in others)),
        float(any(u.meta["op"].name == "dot_general" for u in users if "op" in u.meta)),
        *dot_features(masks[0], at.dim_index(tile)),
    ]


def dot_features(mask: Any, tile_dim: int) -> list[float]:
    """For a dot reading the masked value: which operand it is (0 lhs, 1 rhs), whether the
    tile's dim is contracted, and the contracted dim counted from the end (-1 where no dot)."""
    for user in mask.users:
        if "op" in user.meta and user.meta["op"].name == "dot_general":
            side = list(user.args).index(mask)
            contracted = tuple(user.kwargs["contract"][side])
            rank = mask.meta["value"].rank
            return [float(side), float(tile_dim in contracted), float(rank - 1 - contracted[0])]
    return [-1.0, -1.0, -1.0]


def cases(run: Path) -> list[tuple[list[float], dict[str, Any]]]:
    """The reference's audited cases of a run, with their features and records."""
    from fuzzpass.perf.gate_report import replayable

    return [(x, r) for r in replayable(run) if (x := features(r["case_file"])) is not None]


def cheaper(record: dict[str, Any], gen: str) -> tuple[bool, bool] | None:
    """Whether deferring, and whether keeping, is within the margin of the other on ``gen``."""
    from fuzzpass.judge.gate import MARGIN

    counts = record["counts"].get(gen) or {}
    eager, forced = counts.get("eager"), counts.get("forced")
    if eager is None or forced is None:
        return None
    return forced <= eager * (1 + MARGIN), eager <= forced * (1 + MARGIN)


def score(choices: list[bool], oks: list[tuple[bool, bool]]) -> float:
    """The share of cases where the choice (True: defer) agrees with the schedules."""
    return sum(ok[0] if defer else ok[1] for defer, ok in zip(choices, oks, strict=True)) / max(len(oks), 1)


def fitted(fit: list[tuple[list[float], dict[str, Any]]], test: list[tuple[list[float], dict[str, Any]]]) -> None:
    """Per generation: the trees fitted on ``fit`` scored on ``test``, beside Helion's gate."""
    from sklearn.tree import DecisionTreeClassifier

    from fuzzpass.judge.gate import agrees

    for gen in JUDGED:
        train = [(x, ok) for x, r in fit if (ok := cheaper(r, gen)) is not None and ok[0] != ok[1]]
        held = [(x, ok, r) for x, r in test if (ok := cheaper(r, gen)) is not None]
        if not held or not train:
            why = "the test run did not audit it" if not held else "no fitted case where one choice is cheaper"
            print(f"{gen}: not run: {why}")
            continue
        oks = [ok for _, ok, _ in held]
        cells = [f"positional {sum(bool(agrees(r, gen)) for *_, r in held) / len(held):.1%}"]
        cells.append(f"best constant {max(score([c] * len(oks), oks) for c in (True, False)):.1%}")
        for depth in DEPTHS:
            labels = [ok[0] for _, ok in train]
            if len(set(labels)) < 2:
                tree_choice = [labels[0]] * len(held)
            else:
                tree = DecisionTreeClassifier(max_depth=depth, random_state=0).fit([x for x, _ in train], labels)
                tree_choice = [bool(c) for c in tree.predict([x for x, _, _ in held])]
            cells.append(f"depth {depth} {score(tree_choice, oks):.1%}")
        print(f"{gen}: {len(held)} cases ({len(train)} to fit): " + ", ".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fit", type=Path, help="the --check-gate run to fit on (its --out directory)")
    parser.add_argument("test", type=Path, help="the --check-gate run to score on")
    args = parser.parse_args()
    fit, test = cases(args.fit), cases(args.test)
    print(f"fitted on {args.fit} ({len(fit)} cases), scored on {args.test} ({len(test)} cases); static schedules")
    fitted(fit, test)


if __name__ == "__main__":
    main()
