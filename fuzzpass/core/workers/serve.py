"""The worker's half: take task bodies one at a time, answer each through a :class:`Reply`,
and what a worker watches about itself (its parent, its memory)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fuzzpass.core.workers.messages import Done, Handler, Outbox, Ready, Reply


def serve(handler: Handler, outbox: Outbox, bodies: Iterable[Any]) -> None:
    """Say ``Ready``, then run ``handler`` on each body and say ``Done``; where it returns True
    the worker retires after that task (its parent starts a fresh one)."""
    reply = Reply(outbox)
    outbox.send(Ready())
    for body in bodies:
        retiring = bool(handler(body, reply))
        outbox.send(Done(retiring))
        if retiring:
            return


def orphan_watch(parent: int) -> None:
    """End this process when ``parent`` is gone (killed without a chance to stop it), instead
    of working on, unseen, for ever: every worker process, a baseline Helion's child."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def memory_budget(jobs: int) -> int:
    """Bytes one of ``jobs`` workers may hold before it retires: the machine's memory shared
    with the parent and the page cache. A process that has run hundreds of tests keeps every
    kernel it compiled; a fresh one starts small."""
    total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return total // (jobs + 1)


def resident_bytes() -> int:
    """This process's resident memory now (Linux ``/proc``; 0 where there is none)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")
