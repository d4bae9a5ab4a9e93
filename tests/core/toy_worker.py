"""A worker of :mod:`fuzzpass.core.supervisor` that does what its task says: answer, hang
(inside a timed step, or between steps), die, retire, or print to stdout (which must not reach
the parent's messages)."""

from __future__ import annotations

import os
import time
from typing import Any

from fuzzpass.core.workers.messages import Handler, Reply


def toy(setup: dict[str, Any]) -> Handler:
    if setup.get("die_at_start"):
        os._exit(4)

    def handle(task: dict[str, Any], reply: Reply) -> bool:
        reply.say({"event": "where", "at": task["name"], "pid": os.getpid()})
        print("noise a kernel prints")  # to the log: the message channel carries messages only
        if task["do"] == "hang":
            time.sleep(600)
        elif task["do"] == "rest":  # silent between two steps: no timeout applies
            reply.say({"event": "resting"}, timed=False)
            time.sleep(task["seconds"])
        elif task["do"] == "die":
            os._exit(3)
        reply.say({"event": "answer", "name": task["name"], "pid": os.getpid(), "slot": os.environ.get("SLOT")})
        return task["do"] == "retire"

    return handle
