"""Workers as local processes: what a kernel does to its process (``os._exit``, an abort in
XLA, memory) stays there.

:class:`Child` is one worker process (``python -m fuzzpass.core.workers.child``) seen from its
parent; :class:`ProcessLauncher` starts them for a supervisor and hears them all at once
through ``selectors``. A single child can be used by itself, synchronously (the baseline
Helion of ``--helion-baseline``: :meth:`Child.next`).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from fuzzpass.core.workers import frames
from fuzzpass.core.workers.messages import Died, Handler, Message, Start, exit_reason

STARTUP_SECONDS = 180.0
"""How long a new worker process may take to say it is ready (torch, JAX, Helion imported:
seconds); a task's timeout starts when it is given."""


class Child:
    """One worker process running ``entry(setup)``, with ``env`` over this one's and its
    output (fd 1 and 2) to ``stderr`` (None: this process's)."""

    def __init__(
        self, entry: Callable[[Any], Handler], setup: Any, env: dict[str, str], stderr: IO[bytes] | None
    ) -> None:
        command = [sys.executable, "-m", "fuzzpass.core.workers.child"]
        environment = dict(os.environ, PYTHONUNBUFFERED="1", **env)
        self.proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=environment
        )
        self.reader = frames.Reader()
        self.waiting: list[Message] = []
        self.give(Start(entry, setup))

    def give(self, message: Any) -> None:
        """Send a message (a task body); a child already dead says so through :meth:`receive`."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            frames.write(self.proc.stdin, message)

    def receive(self) -> list[Message]:
        """The whole messages the child has sent since the last call (blocks until it sends
        something); a :class:`Died` last where it closed its end. Read from the file
        descriptor, not a buffered pipe: what a buffer held would be invisible to ``select``."""
        assert self.proc.stdout is not None
        chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
        if not chunk:
            return [Died(exit_reason(self.proc.wait()))]
        return self.reader.feed(chunk)

    def next(self) -> Message:
        """The next message, waiting for it (a child used by itself, not under a launcher)."""
        while not self.waiting:
            self.waiting = self.receive()
        return self.waiting.pop(0)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def retire(self) -> None:
        """Let it end by itself (its input closed), killed if it takes longer than 30 s."""
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()  # type: ignore[union-attr]
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


class ProcessLauncher:
    """Worker processes for a supervisor, slot ``n``'s output appended to ``logs(n)``."""

    startup_seconds: float | None = STARTUP_SECONDS

    def __init__(self, logs: Callable[[int], Path]) -> None:
        self.logs = logs
        self.selector = selectors.DefaultSelector()

    def where(self, slot: int) -> str:
        """Where slot ``slot``'s workers write what they print."""
        return str(self.logs(slot))

    def start(self, slot: int, entry: Callable[[Any], Handler], setup: Any, env: dict[str, str]) -> Child:
        with self.logs(slot).open("ab") as log:  # the child keeps its own descriptor of it
            child = Child(entry, setup, env, log)
        self.selector.register(child.proc.stdout, selectors.EVENT_READ, child)  # type: ignore[arg-type]
        return child

    def poll(self, timeout: float) -> list[tuple[Child, Message]]:
        """What the workers said within ``timeout`` seconds, in the order each said it."""
        heard = []
        for key, _ in self.selector.select(timeout=timeout):
            child: Child = key.data
            for message in child.receive():
                heard.append((child, message))
                if isinstance(message, Died):
                    self.selector.unregister(child.proc.stdout)  # type: ignore[arg-type]
        return heard

    def stop(self, child: Child, kill: bool) -> None:
        """End a worker: killed, or retired (it ends by itself, its task done)."""
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(child.proc.stdout)  # type: ignore[arg-type]
        if kill:
            child.kill()
        else:
            child.retire()

    def give(self, child: Child, body: Any) -> None:
        child.give(body)

    def close(self) -> None:
        self.selector.close()
