"""Many cases: the Hypothesis explorer, the budgeted run and its worker processes, the findings
store, coverage of the pass's branches, progress, the run's summary and the mutant campaign.

May import: everything below it (``judge``, ``repro``, ``perf``, ``backends``, the foundation
modules) and ``generators``. Nothing imports it but the command line.
"""
