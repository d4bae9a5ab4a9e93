"""``python -m fuzzpass``: the same command as ``fuzzpass``."""

from fuzzpass.cli import main

raise SystemExit(main())
