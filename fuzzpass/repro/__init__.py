"""From a finding to a bug report: graph-level minimization, the standalone ``repro.py`` and
pytest exports with their templates, the regression helpers exported tests call, and the
queue that minimizes and exports each new finding beside a run.

May import: ``judge``, ``backends``, the foundation modules, ``reference`` and
``fuzzpass.core.expect`` (a smaller graph's expectation comes from the rules, never from the pass
under test). Never ``fuzz``: a run hands findings to this room, not the reverse.
"""
