"""Helion's pass with its profitability gate bypassed: the ``forced`` kernel the gate audit
compares Helion's choice with when Helion keeps a mask.

Helion 1.5.1's ``defer_pallas_load_masks`` checks safety (every use reaches a zero-fill
``_mask_to`` through permutes only, the tile a standalone dim at each step) and, inside the same
walk, its positional gate: two nested predicates, ``is_major_dim`` (at the load) and
``is_last_two_dim`` (at each consumer mask). They are closures, so they cannot be wrapped from
outside; instead :func:`forced_pass` builds a copy of Helion's function whose two predicates
are replaced by the reference's ``force`` rule (``reference.defer``): the tile is a standalone
dim at the load, and at every consumer mask it stands at another index (a permute moved it, in
either direction). Helion's own safety walk, its bookkeeping and its codegen are untouched.

The replacement predicates have the same free variable as Helion's (``dim_index``), so the
copy's closures bind as Helion's do; the index of the tile at the load, which Helion's walk
does not pass to the consumer predicate, goes through a global of the copy alone.
:data:`GATE` names what this relies on and :func:`unavailable` checks it.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable
from typing import Any

GATE = ("is_major_dim", "is_last_two_dim")
"""The nested predicates of ``helion._compiler.node_masking.defer_pallas_load_masks`` that
are its profitability gate, each a closure over ``dim_index`` alone."""

_AT_LOAD = "_fuzzpass_tile_index_at_load"
"""The global of the forced copy that carries the tile's index at the load to its consumers."""


def _replacements() -> tuple[Callable[..., bool], Callable[..., bool]]:
    """The forced predicates, as closures over a ``dim_index`` like Helion's (only their code
    objects are used). They run in the forced copy, whose globals hold :data:`_AT_LOAD` (named
    by its value: the code runs with Helion's module globals, where this module's are not)."""
    dim_index: Any = None

    def is_major_dim(node: Any, block_id: int) -> bool:
        at = dim_index(node, block_id)
        globals()["_fuzzpass_tile_index_at_load"] = at  # read by is_last_two_dim for its consumers
        return at is not None

    def is_last_two_dim(node: Any, block_id: int) -> bool:
        at = dim_index(node, block_id)
        return at is not None and at != globals()["_fuzzpass_tile_index_at_load"]

    return is_major_dim, is_last_two_dim


def _nested(code: types.CodeType) -> dict[str, types.CodeType]:
    return {c.co_name: c for c in code.co_consts if isinstance(c, types.CodeType)}


def unavailable() -> str | None:
    """Why Helion's gate cannot be bypassed here, or None."""
    from importlib.metadata import version

    from helion._compiler import node_masking

    real = getattr(node_masking, "defer_pallas_load_masks", None)
    nested = _nested(real.__code__) if callable(real) else {}
    wrong = [name for name in GATE if name not in nested or nested[name].co_freevars != ("dim_index",)]
    if wrong:
        return (
            f"helion {version('helion')}'s defer_pallas_load_masks has no predicate "
            f"{', '.join(wrong)} closing over dim_index alone: its gate cannot be bypassed"
        )
    return None


@functools.cache
def forced_pass() -> Callable[[Any], None]:
    """A copy of Helion's ``defer_pallas_load_masks`` with its gate replaced (see the module)."""
    from helion._compiler import node_masking

    real = node_masking.defer_pallas_load_masks
    ours = {f.__name__: f.__code__ for f in _replacements()}
    consts = tuple(
        ours[c.co_name].replace(co_qualname=c.co_qualname) if isinstance(c, types.CodeType) and c.co_name in GATE else c
        for c in real.__code__.co_consts
    )
    scope = dict(real.__globals__, **{_AT_LOAD: None})
    forced = types.FunctionType(real.__code__.replace(co_consts=consts), scope, real.__name__, real.__defaults__)
    forced.__doc__ = __doc__
    return forced
