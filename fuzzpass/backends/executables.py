"""Compiled interpret-mode kernels, kept by their source: in this process, and on disk under a
run's compile cache so that the workers of a host and the next night share them.

JAX's persistent compilation cache keys a program by its lowered module, so even a hit pays
for tracing and lowering the kernel first: for a kernel in Pallas' generic interpreter that
is 70 ms of the 80 ms a cached compile takes, against 140 ms for a cold one (jax 0.10.2, this
machine). These kernels are determined by what is hashed in :func:`key` (the generated source
with its title made generic, the grid, the argument shapes and dtypes, the interpreter, the
JAX that lowers them, the CPU that runs them, ``XLA_FLAGS``), so they are kept by that key: a
hit deserializes the executable (7 ms) and skips JAX's front end altogether.

Entries live on a :class:`~fuzzpass.backends.shelf.Shelf`: one that is truncated, corrupt,
written by another format or unreadable is a miss, and one XLA refuses to load is too: the
kernel is compiled again and the entry replaced, so a bad cache costs time, never a result. A
cache directory is trusted as JAX's is: an executable is machine code.

Kernels in TPU interpret mode call back into Python and cannot be serialized; they are kept
in this process only.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import platform
from collections import OrderedDict
from pathlib import Path
from typing import Any

from fuzzpass.backends.shelf import Shelf

FORMAT = b"fuzzpass-executable/2\n"  # 2: bfloat16 dots widened on the CPU (kernel.CpuLax)
IN_MEMORY = 256
"""Executables kept in one process (as many as ``kernel._jitted`` keeps jitted functions)."""

shelf = Shelf(FORMAT, ".bin")
_loaded: OrderedDict[str, Any] = OrderedDict()


def keep_in(directory: Path | None) -> None:
    """Keep serialized executables under ``directory`` (None: in this process only); it is
    made as entries are written."""
    shelf.keep_in(directory)


@functools.cache
def _machine() -> str:
    """What an XLA:CPU executable depends on besides its program: the CPU's architecture and
    instruction set extensions (an executable built for AVX-512 must not load where it is
    missing), and the JAX that built it."""
    import jax
    import jaxlib

    flags = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = cpuinfo.read_text(errors="replace").splitlines()
        flags = next((line for line in lines if line.startswith(("flags", "Features"))), "")
    return "\n".join((platform.machine(), flags, jax.__version__, jaxlib.__version__, os.environ.get("XLA_FLAGS", "")))


def key(text: str, grid: tuple[int, ...], interpreter: str, args: list[Any]) -> str:
    """What determines one compiled kernel, hashed."""
    avals = tuple((tuple(a.shape), str(a.dtype)) for a in args)
    parts = (FORMAT.decode(), _machine(), interpreter, repr(grid), repr(avals), text)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def executable(text: str, grid: tuple[int, ...], interpreter: str, args: list[Any]) -> tuple[Any, str]:
    """The kernel of generated source ``text`` over ``grid``, compiled under ``interpreter``
    for ``args``, and where it came from: ``memory``, ``disk`` or ``compiled`` (traced, lowered
    and compiled now, then kept)."""
    from fuzzpass.backends.kernel import jitted, structural

    k = key(structural(text), grid, interpreter, args)
    if (found := _loaded.get(k)) is not None:
        _loaded.move_to_end(k)
        return found, "memory"
    origin = "disk"
    if (found := _read(k)) is None:
        found, origin = jitted(text, grid, interpreter).trace(*args).lower().compile(), "compiled"
        if interpreter == "generic":
            _write(k, found)
    _loaded[k] = found
    if len(_loaded) > IN_MEMORY:
        _loaded.popitem(last=False)
    return found, origin


def _read(k: str) -> Any | None:
    """The executable kept under ``k``, or None where there is none or it cannot be used."""
    payload = shelf.read(k)
    if payload is None:
        return None
    try:
        from jax.experimental.serialize_executable import deserialize_and_load

        return deserialize_and_load(*pickle.loads(payload))
    except Exception:  # XLA refuses it (another machine's, another XLA's): a miss, compiled again and replaced
        return None


def _write(k: str, compiled: Any) -> None:
    """Keep ``compiled`` under ``k``; one XLA cannot serialize is only not kept."""
    try:
        from jax.experimental.serialize_executable import serialize

        payload = pickle.dumps(serialize(compiled))
    except Exception:
        return
    shelf.write(k, payload)
