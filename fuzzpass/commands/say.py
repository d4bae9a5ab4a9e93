"""Progress and notes go to stderr, flushed at once, so that stdout carries only a command's
result (a verdict, a table, JSON) and a pipe reads it whole."""

from __future__ import annotations

import sys


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
