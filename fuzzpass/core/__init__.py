"""The foundation every room imports: ``case`` (the contract, ``fuzzpass.case/1``), ``data`` (a
case's concrete inputs, drawn from its seed), ``expect`` (the decision rules a case's expectation
follows), ``files`` (files written whole or not at all) and ``profile`` (the stage timer)."""
