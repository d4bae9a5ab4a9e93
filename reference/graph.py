"""Build the torch.fx graph of a kernel spec, with consumer masks inserted as Helion does.

Each case node becomes one fx node whose target is its op's (``aten.permute.default`` for a
permute, ``aten.reshape.default`` for a reshape, ``load``/``store``/``_mask_to`` their own).
Value inputs are fx args, every other field a kwarg. Each node carries in ``meta``:
``value`` (:class:`~reference.values.Value`), ``op`` (its table entry), ``spec`` (the case
node, absent on inserted masks) and ``var`` (its Python name in generated kernels). Which
operands a consumer masks is one of Helion's rules in use (``neighbours.current()``: Helion
1.5.1's ``hl.dot`` masks along K, 1.5.0's masks no operand).
"""

from __future__ import annotations

import keyword

import torch.fx

from reference import neighbours
from reference.errors import SpecError
from reference.ops import lookup
from reference.ops.mask import _mask_to
from reference.spec import KernelSpec, NodeSpec
from reference.values import Value

RESERVED = frozenset(
    {"jax", "jnp", "lax", "pl", "pltpu", "kernel", "build", "grid", "interpret", "dma_sem", "i0", "i1"}
)
"""Names generated kernels use for themselves; a case's ``out`` may not take them."""

RESERVED_PREFIXES = ("mask_", "copy_", "win_")
RESERVED_SUFFIXES = ("_ref", "_hbm", "_vmem", "_start", "_extent")

FILL_SUFFIX = {0.0: "masked", -float("inf"): "masked_ninf", float("inf"): "masked_pinf"}


def check_name(name: str) -> str | None:
    """Why ``name`` cannot name a value in generated source, or None when it can."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"{name!r} is not a Python identifier"
    if name in RESERVED or name.startswith(RESERVED_PREFIXES) or name.endswith(RESERVED_SUFFIXES):
        return f"{name!r} is reserved for generated kernels"
    return None


class _Builder:
    def __init__(self, spec: KernelSpec) -> None:
        self.spec = spec
        self.graph = torch.fx.Graph()
        self.env: dict[str, torch.fx.Node] = {}
        self.vars: set[str] = set()

    def unique(self, name: str) -> str:
        base, n = name, 1
        while name in self.vars or name in self.env:
            name, n = f"{base}{n}", n + 1
        self.vars.add(name)
        return name

    def mask_to(self, x: torch.fx.Node, fill: float) -> torch.fx.Node:
        """``_mask_to(x, fill)``, reusing one made earlier for another consumer of ``x``."""
        for user in x.users:
            if user.target is _mask_to and user.args[1] == fill:
                return user
        node = self.graph.create_node("call_function", _mask_to, (x, fill), {})
        node.meta.update(
            value=x.meta["value"],
            op=lookup("_mask_to"),
            var=self.unique(f"{x.meta['var']}_{FILL_SUFFIX.get(fill, 'filled')}"),
        )
        return node

    def add(self, index: int, node: NodeSpec) -> None:
        where = f"graph[{index}]"
        try:
            op = lookup(node.op)
        except KeyError as e:
            raise SpecError(f"{where}.op", str(e.args[0])) from None
        args = []
        for f in op.value_fields(node):
            name = node[f]
            if name not in self.env:
                raise SpecError(f"{where}.{f}", f"{name!r} names no earlier 'out'")
            args.append(self.env[name])
        try:
            value = op.shape(node, [a.meta["value"] for a in args], self.spec)
        except SpecError as e:
            raise e.within(where) from None
        if op.consumer_fill is not None:
            values = [a.meta["value"] for a in args]
            rules = neighbours.current()  # which operands Helion masks is one of its rules (hl.dot's K)
            args = [
                self.mask_to(a, op.consumer_fill) if rules.masks_operand(op, i, values) else a
                for i, a in enumerate(args)
            ]
        kwargs = {k: v for k, v in node.fields.items() if k not in op.value_fields(node)}
        fx_node = self.graph.create_node("call_function", op.target, tuple(args), kwargs, name=node.out or node.op)
        fx_node.meta.update(value=value, op=op, spec=node)
        if node.out is not None:
            if node.out in self.env:
                raise SpecError(f"{where}.out", f"{node.out!r} is defined twice")
            if node.out in self.vars:
                raise SpecError(f"{where}.out", f"{node.out!r} is the name of a generated mask; choose another")
            fx_node.meta["var"] = node.out
            self.vars.add(node.out)
            self.env[node.out] = fx_node


def build_graph(spec: KernelSpec) -> torch.fx.Graph:
    """The fx graph of ``spec`` with consumer masks, or a SpecError naming the bad field."""
    builder = _Builder(spec)
    for index, node in enumerate(spec.graph):
        builder.add(index, node)
    builder.graph.output(None)
    builder.graph.lint()
    return builder.graph


def regrouping_reshape(spec: KernelSpec) -> str | None:
    """The first reshape of ``spec`` that regroups a tile's rows
    (:func:`reference.ops.layout.regrouped_tile`), said in a line, or None. After one, the
    case's meaning is one no positional mask follows, and Helion cannot state the graph."""
    from reference.ops.layout import regrouped_tile

    for node in build_graph(spec).nodes:
        if node.target is torch.ops.aten.reshape.default:
            src = node.args[0].meta["value"]  # type: ignore[union-attr]
            if tile := regrouped_tile(src, node.meta["value"]):
                return f"reshape {node.meta['var']!r} regroups tile {tile!r}'s rows"
    return None


def values_of(spec: KernelSpec) -> dict[str, Value]:
    """The static value of every ``out`` of ``spec`` (a SpecError if the spec is invalid)."""
    graph = build_graph(spec)
    return {n.meta["spec"].out: n.meta["value"] for n in graph.nodes if "spec" in n.meta and n.meta["spec"].out}
