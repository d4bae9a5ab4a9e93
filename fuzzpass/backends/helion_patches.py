"""Every attribute of Helion that fuzzpass replaces at run time, in one place.

Helion has no hooks for what the harness asks of it (what its pass decided, its pass off or past
its gate, NaN past the end of an input, its kernels built for a TPU without one), so fuzzpass
replaces attributes of Helion's modules. Where the replacement changes nothing a user of
Helion sees, an installer does it once per process (:func:`wrap_pass`,
:func:`compile_once_per_shape`); otherwise a context manager does it for its block and puts the
real attribute back (:func:`poisoned_padding`, :func:`tpu_interpret`, :func:`as_on_a_tpu`,
:func:`tpu_launcher`, :func:`catching`). :func:`forced_pass` replaces no attribute: it builds a
copy of Helion's pass with two of its nested functions swapped.

Each relies on names and signatures of Helion's internals, listed in :data:`TARGETS`;
``tests/backends/test_helion_patches.py`` checks every one against the installed Helion, so a
Helion that moved them fails there, not in a run. (``helion_patch`` is another thing: it edits
the source of a copy of Helion on disk, for ``--helion-patch``.)
"""

from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

from fuzzpass.backends import helion, tpu, tpu_aot

LAUNCHER = "helion.runtime.pallas.launcher"
NODE_MASKING = "helion._compiler.node_masking"
DEVICE_IR = "helion._compiler.device_ir"
SETTINGS = "helion.runtime.settings"
KERNEL = "helion.runtime.kernel"


@dataclass(frozen=True)
class Target:
    """An attribute of Helion's (``name``, dotted for a class's method) that a patch here
    (``by``) replaces or wraps, and what the patch expects of it."""

    module: str
    name: str
    by: str
    parameters: tuple[str, ...] | None = None
    """Its parameters, exactly, where the replacement takes just these (None: whatever)."""
    reads: tuple[str, ...] = ()
    """Parameters the patch reads by name from a call of it."""


BUILDERS = ("_pallas_compile_jit_fn", "_pallas_compile_compact_jit_fn")
"""The launcher's kernel builders, one per launcher path (each takes the launcher's arguments
as ``args``; the result's ``jit_fn`` and ``tensor_arg_indices`` are read)."""

HOOKS = (
    *BUILDERS,
    "_pallas_build_callable",
    "_ensure_torch_tpu_cpu_export_info",
    "_get_vmem_limit_bytes",
    "_pallas_check_vmem_or_raise",
)
"""Functions of the launcher that :func:`catching` and :func:`tpu_launcher` wrap (the builders,
their call kept), stop at (the torch_tpu hand-over: its ``uses_distributed`` is read), skip
(torch_tpu's chip query), replace (the VMEM budget: :func:`_chip_vmem`) or skip for each
generation's build to make (Helion's VMEM estimate); ``backends.helion_tpu`` checks them."""

PADDERS = ("_pallas_apply_ds_padding", "_pallas_apply_ds_padding_fast")
"""Functions of the launcher that pad an input past its end (with ``torch.nn.functional.pad``,
zeros) so that a block read at a data-dependent start stays in bounds: what a kernel finds past
the end of an array is what they write."""

GATE = ("is_major_dim", "is_last_two_dim")
"""The nested predicates of ``defer_pallas_load_masks`` that are its profitability gate, each
a closure over ``dim_index`` alone (:func:`forced_pass`)."""

TARGETS = (
    Target(DEVICE_IR, "defer_pallas_load_masks", "wrap_pass", ("graph",)),
    Target(NODE_MASKING, "defer_pallas_load_masks", "forced_pass", ("graph",)),
    Target(LAUNCHER, "_PallasInterpretCallable.__init__", "compile_once_per_shape",
           ("self", "jit_fn", "inplace_output_mapping")),
    *(Target(LAUNCHER, name, "poisoned_padding") for name in PADDERS),
    Target(LAUNCHER, "_PALLAS_CACHE_ATTR", "tpu_interpret"),
    Target(SETTINGS, "is_pallas_interpret", "as_on_a_tpu", ()),
    *(Target(LAUNCHER, name, "catching", reads=("args",)) for name in BUILDERS),
    Target(LAUNCHER, "_pallas_build_callable", "catching", reads=("uses_distributed",)),
    Target(LAUNCHER, "_pallas_check_vmem_or_raise", "catching"),
    Target(LAUNCHER, "_ensure_torch_tpu_cpu_export_info", "tpu_launcher", ()),
    Target(LAUNCHER, "_get_vmem_limit_bytes", "tpu_launcher", ("pltpu", "interpret")),
    Target(KERNEL, "Kernel.bind", "recording_calls", ("self", "args")),
    Target(KERNEL, "BoundKernel.compile_config", "recording_calls", ("self", "config", "allow_print")),
    Target(KERNEL, "BoundKernel.to_code", "recording_calls"),
)  # fmt: skip
"""What every patch here relies on (the test checks them against the installed Helion)."""


@contextmanager
def replaced(module: Any, **values: Any) -> Iterator[None]:
    """``module``'s attributes set to ``values`` inside the block, the real ones back after it."""
    before = {name: getattr(module, name) for name in values}
    for name, value in values.items():
        setattr(module, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(module, name, value)


@contextmanager
def recording_calls(
    on_bind: Callable[..., Any],
    on_compile: Callable[..., Any],
    on_code: Callable[..., Any],
    on_compared: Callable[..., Any],
) -> Iterator[None]:
    """Helion's ``Kernel.bind``, ``BoundKernel.compile_config`` and ``BoundKernel.to_code``, and
    torch's ``assert_close``, each replaced inside the block by its ``on_*`` function, which is
    given the real one first (``on_bind(bind, kernel, args, ...)``): how ``fuzzpass corpus``
    records what a test file's kernels are called on (``kernels/record.py``)."""
    import torch
    from helion.runtime.kernel import BoundKernel, Kernel

    bind, compile_config, to_code = Kernel.bind, BoundKernel.compile_config, BoundKernel.to_code
    assert_close = torch.testing.assert_close
    with (
        replaced(Kernel, bind=lambda kernel, args, *a, **kw: on_bind(bind, kernel, args, *a, **kw)),
        replaced(
            BoundKernel,
            compile_config=lambda bound, config=None, *a, **kw: on_compile(compile_config, bound, config, *a, **kw),
            to_code=lambda bound, config=None, *a, **kw: on_code(to_code, bound, config, *a, **kw),
        ),
        replaced(
            torch.testing,
            assert_close=lambda actual, expected, *a, **kw: on_compared(assert_close, actual, expected, *a, **kw),
        ),
    ):
        yield


def launcher_module() -> Any:
    """The module of Helion's Pallas launchers: ``helion.runtime.pallas.launcher`` since Helion
    PR #3182, ``helion.runtime`` before it (where a bisection over commits meets it)."""
    try:
        from helion.runtime.pallas import launcher
    except ImportError:
        import helion.runtime as launcher
    return launcher


@functools.cache
def pass_absent() -> bool:
    """Whether this Helion predates ``defer_pallas_load_masks`` (a release or commit before
    PR #2812): it then keeps every load's eager mask, and there is no pass to wrap."""
    import helion._compiler.device_ir as device_ir

    return not hasattr(device_ir, "defer_pallas_load_masks")


@functools.cache
def wrap_pass(probe: Callable[[Callable[[Any], None], Any], None]) -> None:
    """Installer: ``helion._compiler.device_ir.defer_pallas_load_masks`` becomes ``probe(real,
    graph)``, so that the harness decides whether Helion's pass runs on a graph and reads what
    it decided. It is wrapped where ``device_ir`` calls it: ``device_ir`` imported the name, so
    wrapping it in ``node_masking`` would change nothing. Nothing on a Helion without the pass."""
    if pass_absent():
        return
    import helion._compiler.device_ir as device_ir

    real = device_ir.defer_pallas_load_masks

    @functools.wraps(real)
    def probed(graph: Any) -> None:
        probe(real, graph)

    device_ir.defer_pallas_load_masks = probed


@functools.cache
def compile_once_per_shape() -> None:
    """Installer: the function Helion's interpret launcher calls (``_PallasInterpretCallable``'s
    ``jit_fn``) wrapped in ``jax.jit``.

    Helion 1.5.1 caches that function per kernel, but it is ``pl.kernel``'s eager wrapper:
    JAX traces, lowers and compiles it again on every call (about 1 s here, 95% of a
    check). Under ``jax.jit`` it compiles once per argument shapes. The computation is the
    same function on the same arrays; only JAX's compile cache is in front of it.
    """
    import jax

    callable_class = launcher_module()._PallasInterpretCallable
    real = callable_class.__init__

    @functools.wraps(real)
    def cached(self: Any, jit_fn: Any, inplace_output_mapping: Any) -> None:
        real(self, jax.jit(jit_fn), inplace_output_mapping)

    callable_class.__init__ = cached


@contextmanager
def poisoned_padding() -> Iterator[list[tuple[int, ...]]]:
    """Helion's launcher pads inputs past their end with NaN instead of zeros inside the block
    (each of :data:`PADDERS` runs with ``torch.nn.functional.pad`` replaced): what lies past the
    end of every floating-point input is poison, as ``--poison nan`` makes it for a case (an
    eager ``x * mask`` turns it into NaN; a deferred ``where`` must not). The block gets the
    shapes of the inputs it poisoned: none means the kernel read nothing past an input's end,
    and poison proved nothing (a compact worklist reads exact rows)."""
    import torch

    pad = torch.nn.functional.pad
    poisoned: list[tuple[int, ...]] = []

    def nan_pad(t: Any, widths: Any, mode: str = "constant", value: Any = None) -> Any:
        poison = mode == "constant" and value in (None, 0) and t.is_floating_point()
        if poison:
            poisoned.append(tuple(t.shape))
        return pad(t, widths, mode, float("nan") if poison else value)

    def poisoning(real: Any) -> Any:
        @functools.wraps(real)
        def padded(*args: Any, **kwargs: Any) -> Any:
            with replaced(torch.nn.functional, pad=nan_pad):
                return real(*args, **kwargs)

        return padded

    launcher = launcher_module()
    reals = {name: getattr(launcher, name) for name in PADDERS if callable(getattr(launcher, name, None))}
    with replaced(launcher, **{name: poisoning(real) for name, real in reals.items()}):
        yield poisoned


def gate_unavailable() -> str | None:
    """Why Helion's gate cannot be bypassed here (:func:`forced_pass`), or None."""
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
    """A copy of Helion's ``defer_pallas_load_masks`` with its profitability gate bypassed: the
    ``forced`` kernel the gate audit compares Helion's choice with when Helion keeps a mask.

    Helion 1.5.1's pass checks safety (every use reaches a zero-fill ``_mask_to`` through
    permutes only, the tile a standalone dim at each step) and, inside the same walk, its
    positional gate: the nested predicates of :data:`GATE`, ``is_major_dim`` (at the load) and
    ``is_last_two_dim`` (at each consumer mask). They are closures, so they cannot be wrapped
    from outside; the copy's code has them replaced by the reference's ``force`` rule
    (``reference.defer``): the tile is a standalone dim at the load, and at every consumer mask
    it stands at another index (a permute moved it, in either direction). Helion's own safety
    walk, its bookkeeping and its codegen are untouched. The replacements close over the same
    free variable (``dim_index``), so the copy's closures bind as Helion's do; the tile's index
    at the load, which Helion's walk does not pass to the consumer predicate, goes through a
    global of the copy alone. :func:`gate_unavailable` checks what this relies on."""
    from helion._compiler import node_masking

    real = node_masking.defer_pallas_load_masks
    ours = {f.__name__: f.__code__ for f in _forced_predicates()}
    consts = tuple(
        ours[c.co_name].replace(co_qualname=c.co_qualname) if isinstance(c, types.CodeType) and c.co_name in GATE else c
        for c in real.__code__.co_consts
    )
    scope = dict(real.__globals__, **{_AT_LOAD: None})
    forced = types.FunctionType(real.__code__.replace(co_consts=consts), scope, real.__name__, real.__defaults__)
    forced.__doc__ = forced_pass.__doc__
    return forced


_AT_LOAD = "_fuzzpass_tile_index_at_load"
"""The global of the forced copy that carries the tile's index at the load to its consumers."""


def _forced_predicates() -> tuple[Callable[..., bool], Callable[..., bool]]:
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


TPU_CACHE_ATTR = "_fuzzpass_tpu_interpret_cache"
"""Where Helion's launcher caches kernels built inside :func:`tpu_interpret`."""


def tpu_interpret_params() -> Any:
    """TPU interpret mode as fuzzpass runs it: uninitialized memory NaN (JAX's default,
    stated), reads past a buffer's end raise (a kernel reading out of bounds is wrong
    whatever the data)."""
    from jax.experimental.pallas import tpu as pltpu

    return pltpu.InterpretParams(uninitialized_memory="nan", out_of_bounds_reads="raise")


@contextmanager
def tpu_interpret() -> Iterator[None]:
    """Helion's Pallas kernels built and run in the block go through JAX's TPU interpret mode,
    numbers for the kernels plain interpret mode cannot run.

    Helion's interpret launcher builds its kernel with ``pl.kernel(..., interpret=True)`` (or
    ``pl.pallas_call``), JAX's generic interpreter, which cannot slice a block whose size is
    data-dependent (``pl.BoundedSlice``): Helion's compact-worklist kernels, its ``unroll`` loops
    over jagged tiles and the pass's own deferral tests fail there (``Shapes must be 1D
    sequences of concrete values``). TPU interpret mode simulates a TPU core's memories, DMAs
    and semaphores on the CPU and runs them; JAX's own override (``force_tpu_interpret_mode``,
    read when a kernel is built) hands it every kernel, so ``pl.kernel``'s signature, which
    Helion inspects for its scratch keyword, is untouched. Uninitialized memory reads as NaN
    there: memory a kernel reads without writing is a poison of its own.

    Replaced: ``launcher._PALLAS_CACHE_ATTR``, where Helion caches a built kernel on the
    generated module, so that a build made under one interpreter does not serve the other.
    After a kernel raised inside the interpreter its simulated memory is reset: the next kernel
    starts clean."""
    from helion.runtime.pallas import launcher
    from jax.experimental.pallas import tpu as pltpu

    try:
        with (
            replaced(launcher, _PALLAS_CACHE_ATTR=TPU_CACHE_ATTR),
            pltpu.force_tpu_interpret_mode(tpu_interpret_params()),
        ):
            yield
    except BaseException:
        pltpu.reset_tpu_interpret_mode_state()
        raise


def skipped_itself(e: BaseException) -> bool:
    """Whether an import failed because the module skipped itself (``unittest.SkipTest``, or
    pytest's ``Skipped`` from ``pytest.skip(allow_module_level=True)``): then it is imported
    again :func:`as_on_a_tpu`."""
    import unittest

    return isinstance(e, unittest.SkipTest) or type(e).__name__ == "Skipped"


@contextmanager
def as_on_a_tpu() -> Iterator[None]:
    """``helion.runtime.settings.is_pallas_interpret`` answers False inside the block: a Helion
    test file that skips itself at import in interpret mode ("compact worklist is TPU-only") is
    imported as on a TPU, its kernels still defined for interpret mode, so TPU interpret mode
    can run its tests. The module binds that answer for its import-time gates; the caller gives
    it the real function back afterwards (:func:`restore_gates`), so its tests and Helion itself
    still see interpret mode."""
    import helion.runtime.settings as settings

    with replaced(settings, is_pallas_interpret=_on_a_tpu):
        yield


def _on_a_tpu() -> bool:
    return False


def restore_gates(module: Any) -> None:
    """A module imported :func:`as_on_a_tpu` bound the stand-in under Helion's name: give it
    the real function again."""
    import helion.runtime.settings as settings

    for name, value in vars(module).items():
        if value is _on_a_tpu:
            setattr(module, name, settings.is_pallas_interpret)


NO_CHIP_VMEM = 16 * 1024 * 1024
"""Helion's own VMEM budget when no chip answers (``_get_vmem_limit_bytes``' fallback): what
a kernel's bind sees here, where it is bound once for every generation."""

MESH_AXIS = "rank"
"""The axis of the one-device mesh ``_pallas_build_callable`` runs a distributed kernel on
outside ``torch.distributed`` (``jax.make_mesh((1,), ("rank",))``)."""


def _chip_vmem(pltpu: Any, interpret: bool) -> int:
    """Helion's VMEM budget for a kernel (``_get_vmem_limit_bytes``: the chip's capacity, per
    TensorCore) asked of the chip being compiled for, JAX's default device, each time rather
    than once per process; with no chip as the default device (a kernel being bound),
    :data:`NO_CHIP_VMEM`. ``interpret`` is False here: the launcher is never in interpret mode."""
    import jax

    device = jax.config.jax_default_device
    if getattr(device, "platform", None) == tpu.PLATFORM:
        return int(pltpu.get_tpu_info().vmem_capacity_bytes)
    return NO_CHIP_VMEM


@contextmanager
def tpu_launcher() -> Iterator[None]:
    """Helion's launcher with interpret mode off and no torch_tpu, inside the block:
    ``_ensure_torch_tpu_cpu_export_info`` (it asks an attached chip for its kind) skipped, and
    ``_get_vmem_limit_bytes`` (which keeps its first answer for the whole process) replaced by
    :func:`_chip_vmem`, so the chip's kind and VMEM come from JAX's default device."""
    from helion.runtime.pallas import launcher

    with (
        helion.interpret_mode(False),
        replaced(launcher, _ensure_torch_tpu_cpu_export_info=lambda: None, _get_vmem_limit_bytes=_chip_vmem),
    ):
        yield


class Caught(Exception):
    """Raised from inside Helion's launcher when it hands the kernel it built to torch_tpu:
    ``jit_fn_for_chip`` builds the kernel's JAX function again for the chip that is JAX's
    default device, on arguments of ``shapes``."""

    def __init__(self, jit_fn_for_chip: Callable[[], Any], shapes: tpu_aot.Shapes) -> None:
        super().__init__("caught")
        self.jit_fn_for_chip, self.shapes = jit_fn_for_chip, shapes


class Uncaught(Exception):
    """Helion's launcher handed torch_tpu a kernel that none of :data:`BUILDERS` built: a
    launcher path this module does not know, so nothing to repeat per chip."""


def _on_chip(build: Callable[[], Any], n_inputs: int, distributed: bool) -> Any:
    """The kernel's JAX function for the chip that is JAX's default device: ``build``'s, and a
    distributed one under ``shard_map`` as ``_pallas_build_callable`` puts it, on a mesh of that
    chip alone."""
    jit_fn = build().jit_fn
    if not distributed:
        return jit_fn
    import jax
    import numpy as np
    from jax.sharding import Mesh, PartitionSpec

    mesh = Mesh(np.array([jax.config.jax_default_device]), (MESH_AXIS,))
    replicated = PartitionSpec()
    return jax.shard_map(jit_fn, mesh=mesh, in_specs=(replicated,) * n_inputs, out_specs=replicated, check_vma=False)


@contextmanager
def catching() -> Iterator[None]:
    """Helion's launcher for a TPU (:func:`tpu_launcher`), stopped where it hands the kernel it
    built to torch_tpu (``_pallas_build_callable`` raises :class:`Caught`), with the call of
    whichever of :data:`BUILDERS` built it kept for each generation to repeat. Its VMEM check
    (``_pallas_check_vmem_or_raise``) is skipped: each generation's build makes it, no chip
    being known yet."""
    from helion.runtime.pallas import launcher

    built: list[tuple[Callable[[], Any], tpu_aot.Shapes]] = []

    def keeping(build: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(build)

        def kept(*positional: Any, **kwargs: Any) -> Any:
            result = build(*positional, **kwargs)
            args = signature.bind(*positional, **kwargs).arguments["args"]
            inputs = [args[i] for i in result.tensor_arg_indices]
            shapes = tuple((tuple(a.shape), str(a.dtype).removeprefix("torch.")) for a in inputs)
            built.append((functools.partial(build, *positional, **kwargs), shapes))
            return result

        return kept

    hand_over = inspect.signature(launcher._pallas_build_callable)

    def caught(*positional: Any, **kwargs: Any) -> NoReturn:
        if not built:
            raise Uncaught
        build, shapes = built[-1]
        distributed = bool(hand_over.bind(*positional, **kwargs).arguments.get("uses_distributed", False))
        raise Caught(functools.partial(_on_chip, build, len(shapes), distributed), shapes)

    builders = {name: keeping(getattr(launcher, name)) for name in BUILDERS}
    with (
        tpu_launcher(),
        replaced(launcher, _pallas_build_callable=caught, _pallas_check_vmem_or_raise=lambda *a, **k: None, **builders),
    ):
        yield
