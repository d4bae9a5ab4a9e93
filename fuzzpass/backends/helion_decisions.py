"""What Helion's pass decided: per load node of its graph, the tiles whose mask it deferred.

Helion's ``defer_pallas_load_masks`` is wrapped at the one place Helion calls it
(``helion_patches.wrap_pass``). Inside a :func:`pass_mode` block the wrapper runs the pass
``on`` (as users run it), ``off`` (not at all: Helion's eager baseline) or ``force`` (its gate
bypassed: ``helion_patches.forced_pass``), then records each load node's
``pallas_deferred_mask_block_ids``, mapped back to the case's tiles through the ``hl.tile`` loop
variables, which a case's kernel names after them. What a block recorded is the
:class:`Decisions` it yields, held in a context variable for the block's length: blocks nest,
and outside every block the pass runs as users run it and nothing is recorded.

Helion's generated Pallas source is the other witness of a decision (:func:`eager_loads`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from fuzzpass.backends import helion_patches

MODES = ("on", "off")
"""``on``: Helion as users run it; ``off``: its pass replaced by a no-op (the eager baseline).
A third mode, ``force``, binds Helion's pass with its profitability gate bypassed, for the gate
audit's other choice."""


@dataclass
class LoadDecision:
    """One load node of Helion's graph: what it reads and the tiles whose mask its pass deferred."""

    node: str
    source: str
    deferred: list[str]


@dataclass
class Decisions:
    """One :func:`pass_mode` block: its mode, and what the pass decided in the binds inside it."""

    mode: str
    loads: list[LoadDecision] = field(default_factory=list)
    graphs: list[Any] = field(default_factory=list)
    """The fx graphs the pass ran on, each with its nodes' dims (:func:`_dims`): ``fuzzpass
    corpus`` reads a fired kernel's structure from them."""


_block: ContextVar[Decisions | None] = ContextVar("fuzzpass_helion_pass_mode", default=None)


@contextmanager
def pass_mode(mode: str) -> Iterator[Decisions]:
    """Helion's pass ``on``, ``off`` or ``force`` for the binds inside the block, which gets what
    the pass decided there; the mode in force before it holds again after it (blocks nest)."""
    install_probe()
    decisions = Decisions(mode)
    token = _block.set(decisions)
    try:
        yield decisions
    finally:
        _block.reset(token)


def current_mode() -> str:
    """The pass mode of the innermost :func:`pass_mode` block, ``on`` outside every block."""
    decisions = _block.get()
    return decisions.mode if decisions is not None else "on"


def install_probe() -> None:
    """Helion's pass wrapped by :func:`_probed` (once per process; nothing where this Helion
    has no pass)."""
    helion_patches.wrap_pass(_probed)


def _probed(real: Any, graph: Any) -> None:
    """Helion's pass, as the innermost :func:`pass_mode` block says, on ``graph``; what it
    decided, into that block's :class:`Decisions`."""
    from helion._compiler.compile_environment import CompileEnvironment
    from helion.language.memory_ops import load

    decisions = _block.get()
    mode = decisions.mode if decisions is not None else "on"
    if mode == "on":
        real(graph)
    elif mode == "force":
        helion_patches.forced_pass()(graph)
    if decisions is None:
        return
    env = CompileEnvironment.current()
    decisions.graphs.append((graph, {n.name: _dims(env, n) for n in graph.nodes}))
    for node in graph.find_nodes(op="call_function", target=load):
        ids = node.meta.get("pallas_deferred_mask_block_ids") or ()
        tiles = sorted(name for bid in ids for name in env.block_sizes[bid].debug_names)
        decisions.loads.append(LoadDecision(node.name, _source_of(node), tiles))


def _dims(env: Any, node: Any) -> tuple[int | str | None, ...] | None:
    """A node's value's dims as the case language could state them: an integer extent, a
    block id (``"b<id>"``: a tile of that ``hl.tile``), or None (a size known only at run
    time); None for a node with no tensor value."""
    shape = getattr(node.meta.get("val"), "shape", None)
    if shape is None:
        return None
    dims: list[int | str | None] = []
    for size in shape:
        if isinstance(size, int):
            dims.append(size)
        else:
            bid = env.get_block_id(size)
            dims.append(None if bid is None else f"b{bid}")
    return tuple(dims)


def _source_of(load: Any) -> str:
    """The kernel argument a load node reads (its first argument is a ``_host_tensor`` node)."""
    src = load.args[0]
    if getattr(src, "op", None) == "call_function" and src.args and isinstance(src.args[0], str):
        return src.args[0]
    return getattr(src, "name", str(src))


def defers(loads: list[LoadDecision]) -> bool:
    """Whether Helion's pass deferred any load's mask. When it deferred none it changed
    nothing, so its pass-off kernel is its pass-on kernel: both halves of a check build (and
    run, or compile) that one kernel once."""
    return any(load.deferred for load in loads)


EAGER_LOAD = re.compile(r"^\s*(?P<var>\w+) = .*\* mask_\d+", re.MULTILINE)
"""A load line of Helion's generated Pallas source that multiplies a mask in (``x = ... * mask_0``)."""


def eager_loads(pallas: str) -> set[str]:
    """Variables whose load line in Helion's generated Pallas source multiplies a mask in.

    Read by regex because nothing else states it: the graph's ``pallas_deferred_mask_block_ids``
    is what the pass *decided*, and the source is what codegen then *emitted*; the check holds
    one against the other (a probe that misread a deferral shows as a disagreement), so the
    second witness must not come from the graph. Helion's codegen keeps no record of the masks
    it multiplied in, and its source names each load's variable after the kernel's."""
    return {m["var"] for m in EAGER_LOAD.finditer(pallas)}
