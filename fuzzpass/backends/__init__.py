"""Where kernels run: ``interpret`` and ``interpret-tpu`` (the CPU, Pallas' two interpreters),
``tpu-aot`` (the TPU compiler, deviceless) and ``tpu`` (a TPU host). All build kernels through
:mod:`fuzzpass.backends.kernel`, so what cannot run here is still compiled here exactly as a
TPU host would compile it. ``helion`` is the other side of the differential: production Helion
compiles the case.

Each is one :class:`Backend` record, registered here: what the rest of the harness asks of a
backend (whether it runs the reference's numbers, owns TPU chips, is Helion...) is a field of
its record, never its name compared as a string (``tests/test_layout.py``).

May import: the foundation modules (``fuzzpass.core.case``, ``fuzzpass.core.data``, ``fuzzpass.core.files``,
``fuzzpass.core.profile``) and ``reference``. JAX, libtpu and Helion are imported inside the functions that need them.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from reference.registry import Registry


@dataclass(frozen=True)
class Backend:
    """One ``--backend``: how it runs a case, and what a run of it needs."""

    name: str
    numerics: str | None
    """Where the reference's two kernels run for numbers: ``generic`` or ``tpu`` (Pallas'
    interpreters, the first screening for the second), ``device`` (a TPU), or None (they do
    not run: their compiles, or Helion's kernels, are what is judged)."""
    module: str | None = None
    """The module whose ``unavailable()`` says why it cannot run here (None: it always can)."""
    helion: bool = False
    """Production Helion compiles and runs the case (``judge/helion_check.py``)."""
    compiles_for_tpu: bool = False
    """Cases meet the TPU compiler, so only structures it can build are drawn."""
    deviceless: bool = False
    """The reference's kernels are compiled for TPU generations here, without a chip."""
    on_chips: bool = False
    """Each worker owns a TPU chip: one worker per chip, and Ray's ``TPU`` resource."""
    policy: str = "mixed"
    """The generators' default ``--policy`` for it."""
    uncached: str | None = None
    """Why no compile cache on disk can serve its programs (measured with jax 0.10.2), unless
    the process also audits the gate, whose deviceless compiles are kept; None: one can."""
    minimize_seconds: float = 60.0
    """A run's default time to shrink, minimize and export one finding: a Helion check binds
    a new shape for almost every step, so it gets four times as long."""

    def unavailable(self) -> str | None:
        """Why this backend cannot run on this machine, or None."""
        if self.module is None:
            return None
        return importlib.import_module(self.module).unavailable()


BACKENDS: Registry[Backend] = Registry("backend")
"""Backend name -> record (``--backend``), in registration order."""

DEFAULT = "interpret"

register = BACKENDS.register
backend = BACKENDS.lookup


def unavailable(name: str) -> str | None:
    """Why backend ``name`` cannot run on this machine, or None (``interpret`` always can)."""
    return backend(name).unavailable()


register(Backend("interpret", numerics="generic"))
register(
    Backend(
        "interpret-tpu",
        numerics="tpu",
        uncached="TPU interpret mode calls back into Python for every memory access: no executable of it "
        "can be written to disk, JAX's or fuzzpass's",
        minimize_seconds=120.0,
    )
)
TPU_AOT = register(
    Backend("tpu-aot", numerics=None, module="fuzzpass.backends.tpu_aot", compiles_for_tpu=True, deviceless=True)
).name
register(Backend("tpu", numerics="device", module="fuzzpass.backends.tpu", compiles_for_tpu=True, on_chips=True))
register(
    Backend(
        "helion", numerics=None, module="fuzzpass.backends.helion", helion=True, policy="helion", minimize_seconds=240.0
    )
)
