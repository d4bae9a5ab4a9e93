"""``fuzzpass report DIR [-o FILE]``: the page written next to the run (``DIR/report.html``)."""

from __future__ import annotations

from pathlib import Path

from fuzzpass.core.files import write_atomically
from fuzzpass.report.page import render
from fuzzpass.report.rundir import load


def write_report(out: Path, dest: Path | None = None) -> Path:
    """Render the report of the run under ``out`` to ``dest`` (default ``out/report.html``),
    atomically: a CI step that uploads it never sees half a page."""
    dest = dest or out / "report.html"
    write_atomically(dest, render(load(out), dest))
    return dest
