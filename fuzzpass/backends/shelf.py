"""Entries kept on disk by a hashed key, for the caches under a run's ``--compile-cache``: the
compiled interpret-mode kernels (:mod:`fuzzpass.backends.executables`) and the outcomes of
deviceless TPU compiles (:mod:`fuzzpass.backends.outcomes`).

An entry is written once, atomically (a temporary file renamed), as a format line, the digest
of its payload and the payload. One that is truncated, corrupt, written by another format or
unreadable reads as missing: the caller computes it again and the entry is replaced, so a bad
cache costs time, never a result. Workers of a host share a shelf; two writing one key each
rename a whole file, and the last one wins.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from fuzzpass.core.files import write_atomically


class Shelf:
    """Payloads of one format under a directory (None: kept nowhere), by key."""

    def __init__(self, fmt: bytes, suffix: str) -> None:
        self.format = fmt
        self.suffix = suffix
        self.directory: Path | None = None

    def keep_in(self, directory: Path | None) -> None:
        """Keep entries under ``directory`` (made as entries are written), or nowhere."""
        self.directory = directory

    def path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / key[:2] / f"{key}{self.suffix}"

    def read(self, key: str) -> bytes | None:
        """The payload kept under ``key``, or None where there is none or it cannot be trusted."""
        path = self.path(key)
        if path is None:
            return None
        try:
            blob = path.read_bytes()
        except OSError:  # missing, or unreadable
            return None
        n = len(self.format)
        header, digest, payload = blob[:n], blob[n : n + 64], blob[n + 65 :]
        if header != self.format or digest != hashlib.sha256(payload).hexdigest().encode():
            return None
        return payload

    def write(self, key: str, payload: bytes) -> None:
        """Keep ``payload`` under ``key``; a shelf that cannot be written only costs later hits."""
        path = self.path(key)
        if path is None:
            return
        with contextlib.suppress(OSError):  # a full disk, a read-only directory, a file where a directory should be
            write_atomically(path, self.format + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
