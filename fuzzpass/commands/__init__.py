"""The commands' bodies, one module per family, each with the constructor that adds its
options to its parser (``fuzzpass.cli`` assembles the parser and dispatches). Options that
several commands take are defined once, in :mod:`.flags`; a command rejects its input by
raising :class:`.flags.UsageError`."""
