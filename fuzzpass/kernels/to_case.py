"""A real kernel where Helion's pass fired, as a ``fuzzpass.case/1`` case: its structure, so
that ``fuzzpass run --examples`` mutates real structures too.

What the case keeps is what the pass decides on: the deferred load (its shape, the deferred
tile in its place, every other dim at its extent or its block), the ``aten.permute.default``
chain to each zero-fill ``_mask_to``, the op that consumes each mask (a sum over one axis, or a
matmul: ``bmm``/``mm`` and their ``baddbmm``/``addmm`` forms, whose other operand becomes an
input of its own) and a store of each result. Everything else of the kernel (other loads,
epilogues, loops) is left out: it does not change what the pass decides. Lengths are jagged
with partial tiles, the data seed fixed. A structure the case language cannot state is
reported with the reason, never altered into one it can.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fuzzpass.core.case import Case, CaseError, parse_case
from fuzzpass.core.expect import expect_from_spec

DTYPES = {"torch.float32": "float32", "torch.bfloat16": "bfloat16", "torch.float16": "float16"}
SEED = 1


class NotExpressible(Exception):
    """Why a fired kernel cannot be a case (one line)."""


def lengths(block: int) -> list[int]:
    """Jagged lengths with every kind of last tile: partial, full, one past, empty."""
    return [block + 3, block - 1 if block > 1 else 1, 2 * block, 0, 1]


def to_case(name: str, graphs: list[Any], blocks: dict[int, int]) -> Case:
    """The case of the first load Helion's pass deferred (``graphs``: the fx graphs, with their dims, of
    the pass-on bind; ``blocks``: block id -> block size in the call's config)."""
    for graph, dims in graphs:
        for node in graph.nodes:
            deferred = node.meta.get("pallas_deferred_mask_block_ids")
            if deferred:
                return _case(name, node, sorted(deferred)[0], dims, blocks)
    raise NotExpressible("no load of the pass-on graph records a deferred mask")


def _case(name: str, load: Any, bid: int, dims: dict[str, Any], blocks: dict[int, int]) -> Case:
    if bid not in blocks:
        raise NotExpressible(f"the deferred tile's block size is not in the config ({blocks})")
    dtype = DTYPES.get(str(getattr(load.meta.get("val"), "dtype", "")))
    if dtype is None:
        raise NotExpressible(f"load dtype {load.meta.get('val').dtype} is not float32, bfloat16 or float16")
    load_dims = dims.get(load.name) or ()
    if list(load_dims).count(f"b{bid}") != 1:
        raise NotExpressible("the deferred tile is not one standalone dim of the load")
    structure = _Structure(bid, dims, blocks)
    structure.inputs["x"] = [structure.dim(d, "the load") for d in load_dims]
    structure.walk(load, "x")
    block = blocks[bid]
    data = {
        "format": "fuzzpass.case/1",
        "name": name,
        "seed": SEED,
        "dtype": dtype,
        "tiles": {"t0": {"block": block, "lengths": lengths(block)}},
        "inputs": {k: {"shape": v} for k, v in structure.inputs.items()},
        "graph": structure.graph,
    }
    try:
        case = parse_case(data)
        spec = case.spec
        expect = {
            load: tuple(t for t, r in reasons.items() if r == "deferred")
            for load, reasons in expect_from_spec(spec).items()
        }
    except CaseError as e:
        raise NotExpressible(f"the structure is not a valid case: {e}") from None
    return Case(case.name, case.seed, spec, expect)


@dataclass
class _Structure:
    """The case's inputs and graph, grown while walking the load's uses: permutes to each
    ``_mask_to``, the op that consumes each mask, and a store of its result."""

    bid: int
    dims: dict[str, Any]
    blocks: dict[int, int]
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    graph: list[dict[str, Any]] = field(default_factory=lambda: [{"out": "x", "op": "load", "src": "x"}])
    stores: int = 0

    def dim(self, d: Any, what: str) -> int | str:
        """A dim of Helion's graph in the case: the deferred tile, a size, or another tile's block."""
        if d == f"b{self.bid}":
            return "t0"
        if isinstance(d, int):
            return d
        if isinstance(d, str) and int(d[1:]) in self.blocks:
            return self.blocks[int(d[1:])]  # another tile: a plain dim of its block
        raise NotExpressible(f"{what} has a dim whose size is known only at run time")

    def walk(self, node: Any, var: str) -> None:
        for user in node.users:
            target = str(user.target)
            if target == "aten.permute.default":
                out = f"p{len(self.graph)}"
                self.graph.append({"out": out, "op": "permute", "arg": var, "dims": [int(i) for i in user.args[1]]})
                self.walk(user, out)
            elif getattr(user.target, "__name__", "") == "_mask_to":
                for consumer in user.users:
                    out = self.consume(consumer, user, var, len(self.graph))
                    self.graph.append(out)
                    self.graph.append({"op": "store", "arg": out["out"], "dst": f"out{self.stores}"})
                    self.stores += 1
            else:
                raise NotExpressible(f"a use of the load goes through {target}, not a permute")

    def consume(self, consumer: Any, mask: Any, var: str, at: int) -> dict[str, Any]:
        """The case node of the op that consumes ``mask`` (a sum over one axis, or a matmul)."""
        target = str(consumer.target)
        args = list(consumer.args)
        if target in ("aten.baddbmm.default", "aten.addmm.default"):
            args = args[1:3]
            target = target.replace("baddbmm", "bmm").replace("addmm", "mm")
        if target == "aten.sum.dim_IntList":
            axes = list(args[1])
            if len(axes) != 1 or (len(args) > 2 and args[2]):
                raise NotExpressible("a sum over several axes, or keepdim, after the mask")
            rank = len(self.dims.get(mask.name) or ())
            return {"out": f"r{at}", "op": "sum", "arg": var, "axis": int(axes[0]) % rank}
        if target in ("aten.bmm.default", "aten.mm.default"):
            return self.dot(target, args, mask, var, at)
        raise NotExpressible(f"the mask's consumer {target} has no op in fuzzpass.case/1")

    def dot(self, target: str, args: list[Any], mask: Any, var: str, at: int) -> dict[str, Any]:
        """A ``bmm``/``mm`` of the mask: its other operand becomes an input of its own."""
        batched = target == "aten.bmm.default"
        last = 2 if batched else 1
        if mask not in args:
            raise NotExpressible(f"{target}'s operands are not the mask")
        side = args.index(mask)
        other, name = args[1 - side], f"w{at}"
        self.inputs[name] = [self.dim(d, f"{target}'s other operand") for d in (self.dims.get(other.name) or ())]
        if "t0" in self.inputs[name]:
            raise NotExpressible(f"{target}'s other operand holds the same tile")
        self.graph.append({"out": name, "op": "load", "src": name})
        lhs, rhs = (var, name) if side == 0 else (name, var)
        batch = [[0], [0]] if batched else [[], []]
        return {
            "out": f"r{at}",
            "op": "dot_general",
            "lhs": lhs,
            "rhs": rhs,
            "contract": [[last], [last - 1]],
            "batch": batch,
        }
