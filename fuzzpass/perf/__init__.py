"""Whether the pass pays: the report over many gate audits (``fuzzpass gate-report``) and the
dense-KV benchmark (``fuzzpass bench``, ``tests/benchmarks``). Static TPU schedules here,
timings on a TPU host.

May import: ``judge`` (the audit of one case lives there, as a step of its check),
``backends``, the foundation modules and ``reference``.
"""
