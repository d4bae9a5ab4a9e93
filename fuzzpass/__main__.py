"""``python -m fuzzpass``: the same command as ``fuzzpass``."""

from fuzzpass.cli import entry

entry()
