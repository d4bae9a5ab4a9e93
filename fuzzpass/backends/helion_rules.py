"""Which of Helion's rules beside the pass a Helion has, read from its own source.

The reference models Helion 1.5.1's rules (``reference/neighbours.py``); five of them
(:data:`reference.neighbours.RULES`) are new in 1.5.1. Against another Helion, the differential
compiles the reference with that Helion's set, so that a ``helion-decision`` never blames a
rule that Helion does not have. Which rules a Helion has is read from its files as text, each
rule's marker (``Rule.marker``) searched in its file (``Rule.file``): no import, so any
directory holding a ``helion`` package can be read, the one this process imports included.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path

from reference.neighbours import RULES, Neighbours, for_helion


def present(root: Path) -> frozenset[str]:
    """The rules of :data:`~reference.neighbours.RULES` the Helion in ``root`` (the directory
    holding its ``helion`` package) has; a file it lacks has none of its rules. Cached per
    root."""
    return _present(Path(root).resolve())


@functools.cache
def _present(root: Path) -> frozenset[str]:
    texts: dict[str, str] = {}
    found = set()
    for name, rule in RULES.items():
        if rule.file not in texts:
            path = root / rule.file
            texts[rule.file] = path.read_text() if path.is_file() else ""
        if re.search(rule.marker, texts[rule.file], re.MULTILINE | re.DOTALL):
            found.add(name)
    return frozenset(found)


def describe(rules: frozenset[str]) -> str:
    """``rules`` (a Helion's :func:`present`) in one line, for a run's summary and a report."""
    if RULES.only_known(rules) == RULES.keys():
        return f"Helion's rules as in 1.5.1 (all {len(RULES)})"
    if not rules:
        return f"Helion's rules as in 1.5.0 (none of 1.5.1's {len(RULES)})"
    absent = [name for name in RULES if name not in rules]
    return f"Helion 1.5.1's rules without {', '.join(absent)} ({len(rules)} of {len(RULES)})"


def imported_root() -> Path | None:
    """The directory holding the ``helion`` package this process imports (a ``--helion`` or
    ``--helion-patch`` copy first on ``sys.path``, else the installed one), or None without
    one. Helion's environment is prepared first: it is what puts a copy in place."""
    from fuzzpass.backends import helion

    helion.prepare_environment()
    spec = importlib.util.find_spec("helion")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).parent


@functools.cache
def imported() -> frozenset[str]:
    """The rules of the Helion this process imports (all of them where there is none): found
    once, as a process imports one Helion for its life, and every check asks."""
    root = imported_root()
    return present(root) if root is not None else frozenset(RULES)


def modelled() -> Neighbours:
    """A fresh set of the rules of the Helion this process imports, for one ``compile_variant``
    (which sets its ``relayouts`` and fills its ``taken``)."""
    return for_helion(imported())
