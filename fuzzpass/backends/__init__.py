"""Where kernels run: ``interpret`` and ``interpret-tpu`` (the CPU, Pallas' two interpreters),
``tpu-aot`` (the TPU compiler, deviceless) and ``tpu`` (a TPU host). All build kernels through
:mod:`fuzzpass.backends.kernel`, so what cannot run here is still compiled here exactly as a
TPU host would compile it. ``helion`` is the other side of the differential: production Helion
compiles the case.

May import: the foundation modules (``fuzzpass.core.case``, ``fuzzpass.core.data``, ``fuzzpass.core.files``,
``fuzzpass.core.profile``) and ``reference``. JAX, libtpu and Helion are imported inside the functions that need them.
"""

from __future__ import annotations

BACKENDS = ("interpret", "interpret-tpu", "tpu-aot", "tpu", "helion")


def unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot run on this machine, or None (``interpret`` always can)."""
    if backend == "tpu-aot":
        from fuzzpass.backends import tpu_aot

        return tpu_aot.unavailable()
    if backend == "tpu":
        from fuzzpass.backends import tpu

        return tpu.unavailable()
    if backend == "helion":
        from fuzzpass.backends import helion

        return helion.unavailable()
    return None
