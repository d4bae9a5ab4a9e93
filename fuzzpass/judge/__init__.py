"""One case judged: its data and poison, the float64 ground truth, the oracle's tolerances,
verdicts and whose fault each is, ``check`` (both variants on a backend), the gate audit of
one case, the comparison with production Helion, and the mutants (broken passes to kill).

May import: ``fuzzpass.core.case``, ``fuzzpass.core.data``, ``fuzzpass.core.profile``, ``fuzzpass.backends``,
``reference``. Never ``fuzz``, ``repro``, ``perf`` or ``generators``: a case is judged the same
whoever drew it.
"""
