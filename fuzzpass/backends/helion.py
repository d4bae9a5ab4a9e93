"""Production Helion in this process: the environment it must find when it is imported, whether
it is here, its versions, and its messages in one line. This is the helion backend's module
(``Backend.module``: its :func:`unavailable` says why the backend cannot run).

Helion reads its backend, interpret mode and autotuning switch from the environment, JAX reads
``JAX_PLATFORMS`` when it starts, and ``--helion`` / ``--helion-patch`` put another Helion first on
``sys.path`` (``backends.helions``), which only works before anything imports ``helion``. So an
entry point that will use Helion calls :func:`prepare_environment` first, and importing this
module does nothing. The entry points that call it: ``judge.check.check_case`` with the helion
backend (and so ``fuzzpass check``, ``run``, ``exhaust``, ``minimize`` and their explorers and
workers), ``backends.environment.start_jax`` for the helion backend (``judge.helion_baseline``'s
child among its callers), :func:`unavailable`, ``backends.helion_rules``, and ``fuzzpass corpus``'
record and judge workers. Helion imported earlier under another environment is an error in one
line (:class:`HelionImportedEarly`), where its kernels would otherwise be built for another
backend without a word.

The rest of the backend, by concern: ``helion_patches`` (every attribute of Helion replaced at
run time), ``helion_decisions`` (what its pass decided), ``helion_bind`` (kernels bound and run),
``helion_tpu`` (its kernels for the TPU compiler).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from fuzzpass.backends import helions

ENVIRONMENT = {"HELION_BACKEND": "pallas", "HELION_PALLAS_INTERPRET": "1", "HELION_DISALLOW_AUTOTUNING": "1"}
"""Helion's Pallas backend in interpret mode, and no autotuning: every kernel carries its one
config, so a run never waits on a search. ``HELION_PALLAS_INTERPRET`` is switched off for a
while by :func:`interpret_mode` (Helion's kernels for the TPU compiler)."""

INTERPRET = "HELION_PALLAS_INTERPRET"


class HelionImportedEarly(RuntimeError):
    """Helion was imported before :func:`prepare_environment`, under another environment."""


def prepare_environment() -> None:
    """Set :data:`ENVIRONMENT`, JAX on the CPU unless told otherwise (interpret mode: libtpu
    need not look for a chip), and the chosen Helion first on ``sys.path``. Call before
    anything imports Helion; again later, it changes nothing. Raises
    :class:`HelionImportedEarly` where Helion was imported first under another environment."""
    if helions.PACKAGE in sys.modules:
        if wrong := _not_as_prepared():
            raise HelionImportedEarly(
                f"Helion was imported before fuzzpass set its environment ({', '.join(wrong)}): "
                "call fuzzpass.backends.helion.prepare_environment() before importing helion"
            )
    else:
        os.environ.update(ENVIRONMENT)
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    helions.use()  # ``--helion`` or ``--helion-patch``: that Helion, not the installed one


def _not_as_prepared() -> list[str]:
    """The variables of :data:`ENVIRONMENT` that are not as :func:`prepare_environment` sets
    them (interpret mode either way: :func:`interpret_mode` switches it)."""
    allowed = {name: {value} for name, value in ENVIRONMENT.items()} | {INTERPRET: {"0", "1"}}
    return [f"{name}={os.environ.get(name)}" for name in ENVIRONMENT if os.environ.get(name) not in allowed[name]]


def unavailable() -> str | None:
    """Why the helion backend cannot run here, or None. Its environment is set first: this
    is the first question a command asks of Helion, and the answer imports it."""
    prepare_environment()
    try:
        import helion  # noqa: F401
    except ImportError:
        return "helion is not installed (pip install 'fuzzpass[helion]')"
    return None


def versions() -> dict[str, str]:
    from importlib.metadata import version

    found = {name: version(name) for name in ("jax", "jaxlib", "torch")}
    return {"helion": helions.label(), **found}


def first_line(e: BaseException) -> str:
    """Helion's message in one line, without the addresses it prints (they differ per run)."""
    text = re.sub(r" at 0x[0-9a-f]+", "", str(e).strip())
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:300]


@contextmanager
def interpret_mode(on: bool) -> Iterator[None]:
    """``HELION_PALLAS_INTERPRET`` as ``on`` inside the block (Helion reads it when a kernel
    is defined, bound and launched)."""
    before = os.environ[INTERPRET]
    os.environ[INTERPRET] = "1" if on else "0"
    try:
        yield
    finally:
        os.environ[INTERPRET] = before
