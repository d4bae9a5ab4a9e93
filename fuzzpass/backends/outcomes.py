"""What deviceless TPU compiles concluded, kept by what determines them, so that the workers of
a host and the next night pay each compile once.

JAX's persistent compilation cache cannot serve a deviceless compile: it writes the entry, but
loading one back needs a TPU client to load the executable into ("PjRtCompiler must be
constructed with a Client", jax 0.10.2). A deviceless compile is never run, though. A check
takes three things from it: whether Mosaic accepted the kernel, the compiler's message if it
did not, and the length of the static schedule. Those are kept here, as JSON on a
:class:`~fuzzpass.backends.shelf.Shelf` under ``--compile-cache``/``outcomes``.

The key holds everything the outcome depends on: the program (the kernel's generated source
with its grid and argument shapes, or, for a function fuzzpass did not write, such as
Helion's, its lowered module), the generation, the versions of jax, jaxlib and libtpu, and
libtpu's flags except the schedule-dump directory, which names a process. An entry written
without a schedule does not serve a process that reads schedules (``--check-gate``): that
compile runs again, and its entry replaces the old one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from fuzzpass.backends.shelf import Shelf

FORMAT = b"fuzzpass-compile-outcome/1\n"

shelf = Shelf(FORMAT, ".json")

_DUMP_DIRECTORY = re.compile(r"--xla_jf_dump_to=\S*")


def keep_in(directory: Path | None) -> None:
    """Keep outcomes under ``directory`` (None: nowhere; each process keeps its own in memory)."""
    shelf.keep_in(directory)


@functools.cache
def _compiler() -> str:
    """The compiler's identity: jax, jaxlib and libtpu's versions."""
    from importlib.metadata import PackageNotFoundError, version

    import jax
    import jaxlib

    try:
        libtpu = version("libtpu")
    except PackageNotFoundError:
        libtpu = "none"
    return f"jax {jax.__version__} jaxlib {jaxlib.__version__} libtpu {libtpu}"


def key(program: str, generation: str) -> str:
    """What determines one compile's outcome, hashed: ``program`` (a text that determines the
    kernel) for ``generation``, by this compiler with these flags."""
    flags = _DUMP_DIRECTORY.sub("", os.environ.get("LIBTPU_INIT_ARGS", "")).split()
    parts = (FORMAT.decode(), _compiler(), " ".join(sorted(flags)), generation, program)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def read(k: str, needs_schedule: bool) -> dict[str, Any] | None:
    """The outcome kept under ``k`` (``ok``, ``message``, ``bundles``), or None where there is
    none, it cannot be trusted, or a schedule is needed and it has none."""
    payload = shelf.read(k)
    if payload is None:
        return None
    try:
        outcome = json.loads(payload)
        ok, message, bundles = outcome["ok"], outcome["message"], outcome["bundles"]
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(ok, bool) or not isinstance(message, str) or not isinstance(bundles, (int, type(None))):
        return None
    if needs_schedule and ok and bundles is None:
        return None
    return {"ok": ok, "message": message, "bundles": bundles}


def write(k: str, ok: bool, message: str, bundles: int | None) -> None:
    shelf.write(k, json.dumps({"ok": ok, "message": message, "bundles": bundles}, sort_keys=True).encode())
