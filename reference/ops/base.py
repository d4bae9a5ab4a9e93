"""What an op is: five rules under fixed names, plus the fields a case gives it.

Every op (CASES.md, "Ops") is one :class:`Op`: its shape rule (the value it makes, or a
:class:`~reference.errors.SpecError` naming the bad field), its masked-value rule (what its
padded lanes hold, given what its inputs' padded lanes hold), its Pallas rule (source lines
for one work item), its float64 rule (what it means, on valid elements only) and its Helion
rule (the same op as a line of a ``@helion.kernel``, or :class:`Inexpressible`). The registry
refuses a second op of the same name, and a test keeps the tables in step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from reference.registry import Registry
from reference.values import Value

if TYPE_CHECKING:
    import torch.fx

    from reference.spec import KernelSpec, NodeSpec

MaskedValue = float | None
"""What every padded lane of a value is known to hold, or None when unknown."""

FieldKind = Literal["value", "input", "output", "ints", "int", "shape", "number", "dtype", "pairs"]
"""How a case field is checked: ``value`` names an earlier ``out``, ``input`` an input,
``output`` a new output name, ``ints`` a list of integers, ``shape`` integers or tile names,
``number`` a float, ``dtype`` an element type, ``pairs`` two lists of integers."""


@dataclass
class T64:
    """A float64 value over all work items at once (leading axis: work item).

    ``val`` holds the exact value on valid elements (NaN elsewhere, so a rule that lets an
    invalid element through shows up as NaN); ``valid`` which elements are valid; ``err`` a
    bound on how far a kernel that rounds as the codegen does may land from ``val``.
    """

    val: np.ndarray
    valid: np.ndarray
    err: np.ndarray

    @property
    def on_valid(self) -> np.ndarray:
        """``val`` with invalid elements zeroed, for rules that combine valid elements only."""
        return np.where(self.valid, self.val, 0.0)


class F64Context(Protocol):
    """What a float64 rule may ask the ground truth for."""

    def load(self, src: str) -> T64: ...


class Emitter(Protocol):
    """What a Pallas rule may ask the kernel being generated for."""

    spec: KernelSpec

    def var(self, node: torch.fx.Node) -> str:
        """The Python variable that holds ``node``'s value."""
        ...

    def mask(self, value: Value, tiles: Sequence[str]) -> str | None:
        """A float32 0/1 expression of ``value``'s rank that is 1 where every dim of ``value``
        named in ``tiles`` lies inside its work item's extent; None when ``tiles`` names no
        dim of ``value``."""
        ...

    def ref(self, src: str) -> str:
        """The kernel parameter bound to input ``src``."""
        ...

    def scratch(self, node: torch.fx.Node, shape: tuple[int, ...], dtype: str) -> tuple[str, str]:
        """A VMEM buffer for ``node`` and the DMA semaphore that guards it."""
        ...

    def tile_start(self, tile: str) -> str:
        """The scalar holding this work item's first row along ``tile``."""
        ...

    def out_ref(self, node: torch.fx.Node) -> str:
        """The kernel parameter a store node writes."""
        ...


class Inexpressible(Exception):
    """A case that Helion's language cannot state as written: ``where`` names the node or
    field, ``reason`` says what Helion lacks. The harness reports it (``inexpressible``)
    rather than rewrite the case into one Helion can state: a rewritten case would test
    another graph."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class HelionWriter(Protocol):
    """What a Helion rule may ask the ``@helion.kernel`` being written for."""

    spec: KernelSpec

    def tile(self, name: str) -> str:
        """The ``hl.tile`` loop variable of tile ``name``."""
        ...

    def item(self) -> str:
        """This work item's index into a per-item output (``i0`` or ``i0, i1``)."""
        ...

    def output(self, dst: str, value: Value) -> str:
        """The output tensor a store of ``value`` to ``dst`` writes (the writer allocates it)."""
        ...


ShapeRule = Callable[["NodeSpec", list[Value], "KernelSpec"], Value | None]
MaskedValueRule = Callable[["torch.fx.Node", list[MaskedValue]], MaskedValue]
PallasRule = Callable[["torch.fx.Node", list[str], Emitter], list[str]]
F64Rule = Callable[["NodeSpec", Value | None, list[T64], F64Context], T64]
HelionRule = Callable[["NodeSpec", list[str], list[Value], HelionWriter], str]
"""Given the node, its value arguments' variables and values: the expression it computes
(a store: the whole statement)."""


@dataclass(frozen=True)
class Op:
    """One op: its case fields, fx target, family, five rules and the fill it masks inputs with."""

    name: str
    fields: dict[str, FieldKind]
    optional: frozenset[str]
    target: Any
    family: str
    shape: ShapeRule
    masked_value: MaskedValueRule
    pallas: PallasRule
    f64: F64Rule
    helion: HelionRule
    consumer_fill: float | None = None
    """A consumer op masks each tensor input with this fill first (Helion inserts
    ``_mask_to(x, fill)``): 0 for both operands of a dot, a reduction's identity."""
    masks_operand: Callable[[int, list[Value]], bool] | None = None
    """Which inputs (by position, given every input's value) a consumer masks; None: each
    one with a tile dim. ``hl.dot`` masks an operand only where its K is a tile."""

    def value_fields(self, node: NodeSpec) -> tuple[str, ...]:
        """The fields of ``node`` that name earlier values, in argument order."""
        return tuple(f for f, kind in self.fields.items() if kind == "value" and f in node.fields)


REGISTRY: Registry[Op] = Registry("op")
"""The op table: each op registered beside its code (a second op of one name is a bug)."""

register = REGISTRY.register
lookup = REGISTRY.lookup


def rounding(dtype: str, value: np.ndarray, ulps: float = 1.0) -> np.ndarray:
    """Error of rounding ``value`` once to ``dtype`` (``ulps`` half-ulps, for approximations):
    relative to the value, and at least half a subnormal step (a result below the normal
    range rounds on a fixed grid)."""
    from reference.values import SUBNORMAL_HALF_STEP, UNIT_ROUNDOFF

    return ulps * np.maximum(UNIT_ROUNDOFF[dtype] * np.abs(np.nan_to_num(value)), SUBNORMAL_HALF_STEP[dtype])


def expand_at(mask: str, rank: int, dim: int) -> str:
    """``mask`` (a 1-D array) indexed so it broadcasts along ``dim`` of a rank-``rank`` value."""
    index = ", ".join(":" if i == dim else "None" for i in range(rank))
    return f"{mask}[{index}]"
