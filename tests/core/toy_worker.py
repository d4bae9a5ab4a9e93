"""A worker of :mod:`fuzzpass.core.supervisor` that does what its task says: answer, hang, die
or print to stdout (which must not reach the parent's events)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from fuzzpass.core.supervisor import Emit, serve


def handle(task: dict[str, Any], emit: Emit) -> bool:
    emit({"event": "where", "at": task["name"]})
    print("noise a kernel prints")  # to stderr: stdout carries events only
    if task["do"] == "hang":
        time.sleep(600)
    elif task["do"] == "die":
        os._exit(3)
    emit({"event": "answer", "name": task["name"], "pid": os.getpid()})
    return task["do"] == "retire"


if __name__ == "__main__":
    if "--die-at-start" in sys.argv:
        os._exit(4)
    serve(handle)
