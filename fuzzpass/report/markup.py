"""The few HTML pieces every section of the report builds with: a two-column table, a relative
link, the versions line."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path
from typing import Any


def table(rows: list[tuple[str, str]], ident: str) -> str:
    """A two-column table of (label, HTML) rows; labels are escaped here, values by the caller."""
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table id="{ident}">{body}</table>'


def link(path: Path | None, dest: Path) -> str:
    """A link to ``path`` relative to the page at ``dest``: the page opens from a CI artifact."""
    if path is None:
        return ""
    return f'<a href="{escape(os.path.relpath(path, dest.parent))}">{escape(path.name)}</a>'


def versions(s: dict[str, Any]) -> str:
    shown = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in (s.get("versions") or {}).items() if v)
    return shown or "not recorded"
