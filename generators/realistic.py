"""Realistic shapes: the tiles attention and projection kernels use (``--policy realistic``).

The other policies draw small, odd shapes to reach every branch of the pass cheaply. A Helion
engineer asks what the gate does where their kernels live, so this builder draws only what
those kernels load, in the layouts they load it in:

- ``scores``: ``q @ k^T`` of dense-KV and jagged attention. K is a jagged tile of sequence
  rows, stored sequence-major (``[T, H, D]``, the dense-KV cache) or head-major
  (``[H, T, D]``), permuted to ``[H, D, T]``; q is ``[H, Bq, D]``. Sequence-major is the
  pass's direction (a major dim into the lanes); head-major moves the tile from the sublanes
  to the lanes, which the positional gate keeps and forcing defers.
- ``scores-q``: the same product with q the jagged tile (``[T, H, D]`` to ``[H, T, D]``) and
  K a plain block of ``Bk`` rows.
- ``values``: ``p @ v``. V is ``[T, H, D]`` permuted to ``[H, T, D]``; p is ``[H, Bq, T]``.
- ``projection``: ``x @ W`` per head: x ``[T, H, D]`` permuted to ``[H, T, D]``, W
  ``[H, D, F]`` with ``F`` a real projection's width.
- ``pooling``: a jagged sum over the sequence, ``[T, H, D]`` permuted to ``[H, D, T]``.

Lane dims are 64, 128 or 256 (head dims); sequence blocks 64-512 rows, multiples of every
dtype's sublane packing; 1-16 heads; bfloat16 first. A draw whose blocks would not fit the
smallest scoped VMEM of the judged generations (:data:`VMEM_BUDGET`) is drawn again smaller,
heads first (:func:`fitted`); :func:`refused` lists every such shape with its estimate.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hypothesis import strategies as st

from fuzzpass.core.expect import expected_reason
from generators.policies import Policy
from generators.structures import Choices, Drawn, Structure, _Builder, _Val

PATTERNS = ("scores", "scores-q", "values", "projection", "pooling")

VMEM_BUDGET = 16 << 20
"""Bytes of VMEM a drawn kernel's blocks may take: v5e's default scoped VMEM (16 MiB), the
smallest of v5e, v6e and tpu7x. Blocks are double-buffered (inputs and outputs twice), the
dot's float32 result once."""

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


@dataclass(frozen=True)
class Shape:
    """One realistic draw before it is built: the pattern and its sizes."""

    pattern: str
    layout: str  # "seq-major" or "head-major": where K's sequence tile sits at the load
    dtype: str
    block: int  # the jagged tile's rows per block
    heads: int
    head_dim: int  # the lane dim
    rows: int  # the other operand's rows (Bq, Bk) or a projection's width (F)

    def vmem(self) -> int:
        """Estimated VMEM bytes of the kernel's blocks (see :data:`VMEM_BUDGET`)."""
        item = BYTES[self.dtype]
        tile = self.block * self.heads * self.head_dim * item
        other = {
            "scores": self.heads * self.rows * self.head_dim,
            "scores-q": self.heads * self.rows * self.head_dim,
            "values": self.heads * self.rows * self.block,
            "projection": self.heads * self.head_dim * self.rows,
            "pooling": 0,
        }[self.pattern] * item
        result = {
            "scores": self.heads * self.rows * self.block,
            "scores-q": self.heads * self.block * self.rows,
            "values": self.heads * self.rows * self.head_dim,
            "projection": self.heads * self.block * self.rows,
            "pooling": self.heads * self.head_dim,
        }[self.pattern]
        return 2 * (tile + other) + 2 * result * item + 4 * result

    def __str__(self) -> str:
        return (
            f"{self.pattern} {self.layout} {self.dtype} block {self.block}, {self.heads} heads, "
            f"head dim {self.head_dim}, {self.rows} rows"
        )


def fitted(shape: Shape) -> Shape:
    """``shape``, or the nearest smaller one that fits :data:`VMEM_BUDGET`: fewer heads first,
    then fewer rows, then a shorter block (never below 64 rows or one head)."""
    while shape.vmem() > VMEM_BUDGET:
        if shape.heads > 1:
            shape = _with(shape, heads=shape.heads // 2)
        elif shape.rows > 64:
            shape = _with(shape, rows=shape.rows // 2)
        elif shape.block > 64:
            shape = _with(shape, block=shape.block // 2)
        else:
            break
    return shape


def _with(shape: Shape, **sizes: int) -> Shape:
    return Shape(**{**shape.__dict__, **sizes})


def refused(policy: Policy) -> list[tuple[Shape, Shape]]:
    """Every shape ``policy`` can draw that does not fit, with the one drawn in its place."""
    grid = itertools.product(
        PATTERNS,
        ("seq-major", "head-major"),
        [d for d, _ in policy.dtypes],
        [int(b) for b, _ in policy.blocks],
        policy.plain_dims,
        policy.lane_dims,
        policy.free_dims,
    )
    out = []
    for pattern, layout, *sizes in grid:
        if layout == "head-major" and pattern != "scores":
            continue
        shape = Shape(pattern, layout, *sizes)  # type: ignore[arg-type]
        if shape.vmem() > VMEM_BUDGET:
            out.append((shape, fitted(shape)))
    return out


def draw_shape(c: Choices, policy: Policy) -> Shape:
    pattern = c.weighted(policy.consumers)
    layout = c.weighted(policy.positions) if pattern == "scores" else "seq-major"
    dtype = c.weighted(policy.dtypes)
    block = int(c.weighted(policy.blocks))
    heads, head_dim, rows = c.pick(policy.plain_dims), c.pick(policy.lane_dims), c.pick(policy.free_dims)
    return fitted(Shape(pattern, layout, dtype, block, heads, head_dim, rows))


def build(c: Choices, policy: Policy, disabled: frozenset[str] = frozenset()) -> Structure:
    """A realistic structure (swarm subsets do not apply: each pattern is one real kernel's)."""
    s = draw_shape(c, policy)
    b = _Builder(c, policy, frozenset(), s.dtype, {"t0": s.block})
    h, d, n = s.heads, s.head_dim, s.rows
    if s.pattern == "pooling":
        x = b.permute(b.load(("t0", h, d)), [1, 2, 0])
        b.store(b.reduce(x, c.pick(("sum", "max")), 2))
    elif s.pattern == "scores":
        k = b.load(("t0", h, d)) if s.layout == "seq-major" else b.load((h, "t0", d))
        kt = b.permute(k, [1, 2, 0] if s.layout == "seq-major" else [0, 2, 1])
        scores = _dot(b, b.load((h, n, d)), kt, contract=(2, 1))  # [H, Bq, T]
        b.store(scores if c.boolean() else b.reduce(scores, c.pick(("sum", "max")), 2))
    elif s.pattern == "scores-q":
        q = b.permute(b.load(("t0", h, d)), [1, 0, 2])
        b.store(_dot(b, q, b.load((h, n, d)), contract=(2, 2)))  # [H, T, Bk]
    elif s.pattern == "values":
        v = b.permute(b.load(("t0", h, d)), [1, 0, 2])
        b.store(_dot(b, b.load((h, n, "t0")), v, contract=(2, 1)))  # [H, Bq, D]
    else:  # projection
        x = b.permute(b.load(("t0", h, d)), [1, 0, 2])
        b.store(_dot(b, x, b.load((h, d, n)), contract=(2, 1)))  # [H, T, F]
    expect = {
        load: {t: expected_reason(shape, t, b.outcomes[load]) for t in dict.fromkeys(x for x in shape if x == "t0")}
        for load, shape in b.load_shapes.items()
    }
    return Structure(s.dtype, {"t0": s.block}, dict(b.inputs), tuple(b.nodes), expect)


def _dot(b: _Builder, lhs: _Val, rhs: _Val, contract: tuple[int, int]) -> _Val:
    """A batched matmul over the heads (dim 0 of both), contracting ``contract``: the
    attention and projection products, a zero-fill remask of both operands."""
    b.note(lhs, "remask", 0.0)
    b.note(rhs, "remask", 0.0)
    out = b.fresh("d")
    b.add("dot_general", out, lhs=lhs.name, rhs=rhs.name, contract=[[contract[0]], [contract[1]]], batch=[[0], [0]])
    free_l = [x for i, x in enumerate(lhs.shape) if i not in (0, contract[0])]
    free_r = [x for i, x in enumerate(rhs.shape) if i not in (0, contract[1])]
    return _Val(out, (lhs.shape[0], *free_l, *free_r), None)


@st.composite
def realistic_structures(draw: st.DrawFn, policy: Policy) -> Structure:
    """Realistic structures drawn by Hypothesis."""
    return build(Drawn(draw), policy)
