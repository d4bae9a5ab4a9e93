"""Compact kernel specs for tests: the dense-KV shape and its one-condition variations."""

from __future__ import annotations

from typing import Any

from reference.spec import KernelSpec, NodeSpec, TileSpec


def node(op: str, out: str | None = None, **fields: Any) -> NodeSpec:
    return NodeSpec(op, out, fields)


def spec(
    inputs: dict[str, tuple[int | str, ...]],
    *graph: NodeSpec,
    block: int = 16,
    lengths: tuple[int, ...] = (13, 40, 7, 11),
    dtype: str = "bfloat16",
) -> KernelSpec:
    """One tile ``t0`` with a partial last tile in every sequence (the mask matters)."""
    return KernelSpec(dtype, {"t0": TileSpec(block, lengths)}, dict(inputs), tuple(graph))


def dense_kv(
    q_shape: tuple[int | str, ...] = ("t0", 4, 128), dims: tuple[int, ...] = (1, 0, 2), batch: int = 0
) -> KernelSpec:
    """load q -> permute -> dot with k (batched over heads, contracting D) -> sum -> store."""
    return spec(
        {"q": q_shape, "k": (4, 16, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=list(dims)),
        node("load", "kt", src="k"),
        node("dot_general", "s", lhs="xt", rhs="kt", contract=[[2], [2]], batch=[[batch], [0]]),
        node("sum", "r", arg="s", axis=1),
        node("store", arg="r", dst="out"),
    )


def reverse_direction(dtype: str = "bfloat16") -> KernelSpec:
    """load q[4, t0, 128] (the tile in sublanes) -> permute it to a major dim -> sum over it:
    the reverse move, which the pass never defers and forcing does."""
    return spec(
        {"q": (4, "t0", 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 0, 2]),
        node("sum", "r", arg="xt", axis=0),
        node("store", arg="r", dst="out"),
        dtype=dtype,
    )
