"""Where kernels run: ``interpret`` (CPU), ``tpu-aot`` (the TPU compiler, deviceless) and
``tpu`` (a TPU host). All three build kernels through :mod:`fuzzpass.backends.kernel`, so
what cannot run here is still compiled here exactly as a TPU host would compile it."""

BACKENDS = ("interpret", "tpu-aot", "tpu")
