"""Where kernels run: ``interpret`` (CPU), ``tpu-aot`` (the TPU compiler, deviceless) and
``tpu`` (a TPU host). All three build kernels through :mod:`fuzzpass.backends.kernel`, so
what cannot run here is still compiled here exactly as a TPU host would compile it.
``helion`` is the other side of the differential: production Helion compiles the case."""

import os

BACKENDS = ("interpret", "tpu-aot", "tpu", "helion")


def prepare_environment() -> None:
    """Settings libtpu reads once, when JAX starts it: call before JAX picks a backend.

    Deviceless, libtpu need not look for TPU hosts, and several processes (pytest-xdist
    workers, ``fuzzpass run --jobs``) may each load it to compile.
    """
    os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")
    os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")
