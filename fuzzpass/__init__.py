"""fuzzpass: differential testing and fuzzing of defer_pallas_load_masks.

Rooms, each importing only the ones below it (``tests/test_layout.py`` keeps it so):

- ``cli``: the command: assembles the parser and dispatches.
- ``commands/``: each command's options and body; the options several take, defined once.
- ``kernels/``: ``fuzzpass corpus``: the pass on real Helion kernels (files, tests, examples),
  in worker processes; fired kernels become seed cases of the corpus ``fuzz/`` mutates.
- ``fuzz/``: many cases: explorer, run and workers, exhaust, corpus, findings store, coverage, progress.
- ``report/``: the morning report, one HTML page of a run's directory.
- ``repro/``: minimize, export, regression helpers, the run's repro queue.
- ``perf/``: gate report and the dense-KV benchmark.
- ``judge/``: one case: data, ground truth, oracle, verdicts, check, gate audit, Helion, mutants,
  candidate passes from a file.
- ``backends/``: where kernels compile and run.
- ``core/``: the foundation, imported by every room: the case contract, a case's data, the
  decision rules, whole-file writes and the stage timer.

``fuzzpass.regression`` is the stable import path of exported regression tests.
"""

__version__ = "0.1.0"
