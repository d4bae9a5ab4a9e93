"""A worker process: ``python -m fuzzpass.core.workers.child``, started by
:class:`~fuzzpass.core.workers.processes.Child`.

It reads a :class:`~fuzzpass.core.workers.messages.Start` on stdin, runs its entry, then
serves task bodies read from stdin. Messages go out on a copy of stdout; stdout itself is
pointed at stderr (the worker's log), so what anything else prints, C code included, never
mixes with them. It ends when its parent is gone.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from fuzzpass.core.workers import frames
from fuzzpass.core.workers.messages import Done, Ready, Said, leave_now
from fuzzpass.core.workers.serve import orphan_watch, serve


class PipeOutbox:
    """Messages to the parent, each written whole and flushed."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def send(self, message: Ready | Said | Done) -> None:
        frames.write(self.stream, message)

    def leave(self) -> None:
        self.send(Done(retire=True))
        leave_now()


def main() -> None:
    orphan_watch(os.getppid())
    bodies = sys.stdin.buffer
    outbox = PipeOutbox(os.fdopen(os.dup(1), "wb"))
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    start = frames.read(bodies)
    if start is None:
        return
    serve(start.entry(start.setup), outbox, iter(lambda: frames.read(bodies), None))


if __name__ == "__main__":
    main()
