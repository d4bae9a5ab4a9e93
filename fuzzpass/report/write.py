"""``fuzzpass report DIR [-o FILE]``: the page written next to the run (``DIR/report.html``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from fuzzpass.report.page import render
from fuzzpass.report.rundir import load


def write_report(out: Path, dest: Path | None = None) -> Path:
    """Render the report of the run under ``out`` to ``dest`` (default ``out/report.html``),
    atomically: a CI step that uploads it never sees half a page."""
    dest = dest or out / "report.html"
    text = render(load(out), dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=dest.parent, delete=False, suffix=".tmp", encoding="utf-8") as f:
        f.write(text)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(f.name, 0o666 & ~umask)  # as an ordinary file: a temporary one is the owner's alone
    os.replace(f.name, dest)
    return dest
