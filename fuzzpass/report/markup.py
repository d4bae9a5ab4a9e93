"""What every section of the report renders with: ``TEMPLATES``, the Jinja2 environment of
``templates/``, which escapes every value a template shows (a signature, a compiler's message, a
kernel's source) once, there; only the charts go in as they are, trusted SVG that ``charts``
marks as ``Markup``. And the data every section shows the same way: a link relative to the page,
the versions line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATES = Environment(
    loader=PackageLoader("fuzzpass.report", "templates"),
    autoescape=True,
    undefined=StrictUndefined,  # a name the page's code did not pass is an error, not an empty cell
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def filename(path: str) -> str:
    """``{{ file|filename }}``: the name a cell shows of a path its title holds whole."""
    return Path(path).name


TEMPLATES.filters["filename"] = filename


@dataclass(frozen=True)
class Link:
    """A link to a file of the run, relative to the page: the page opens from a CI artifact."""

    href: str
    name: str


def link(path: Path, dest: Path) -> Link:
    """A link to ``path`` from the page at ``dest``."""
    return Link(os.path.relpath(path, dest.parent), path.name)


def versions(s: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in (s.get("versions") or {}).items() if v) or "not recorded"
