"""Hypothesis strategies that draw valid cases by construction, with the pass's expected
decision, under a named policy and a swarm subset.

- ``structures``: kernel graphs and the decision oracle (what the pass must decide, known
  from how the graph was built);
- ``lengths``: jagged sequence lengths from named distributions;
- ``policies``: named weightings of the draw, and swarm subsets;
- ``examples``: a structure with the instances (lengths, data seed) it is checked on.

Importing this package imports nothing else, so ``fuzzpass --help`` stays fast.
"""
