"""Candidate passes: the next version of ``defer_pallas_load_masks``, each a ``--pass`` file
checked by ``fuzzpass run``, ``exhaust`` and the TPU compile before ``fuzzpass propose`` writes it
as a patch against the installed Helion."""
