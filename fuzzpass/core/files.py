"""Files written whole or not at all: the one way fuzzpass writes what another process, a CI
step or a crash may read half-way (findings, summaries, the report, cached executables)."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` so that a reader (or a crash) never sees half a file: into a temporary
    file of this process beside ``path``, then renamed over it. Processes writing the same
    path (workers sharing a compile cache) each rename a whole file; the last one wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
