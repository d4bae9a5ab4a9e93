"""What a supervisor and its workers say to each other, as typed records.

A worker is sent :class:`Start` (what it runs), says :class:`Ready` once it has imported what
it needs, then answers each task body it is given with :class:`Said` events (the task's own
payloads: a corpus worker's dict, a run's ``Started`` or ``Checked``) and one :class:`Done`.
A launcher adds :class:`Died` when a worker is gone without a word. Every message is a
heartbeat.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Task:
    """One unit of work: ``key`` names it in the parent's bookkeeping, ``body`` is what the
    worker's handler reads. ``slot``: only the worker in that slot takes it (a run's shard
    keeps its log file and its TPU chip); None: any worker. ``timed``: the clock starts when
    it is given (a corpus task); False: at the worker's first timed event (a run's first case),
    so what a task prepares before its steps is not held to a step's timeout."""

    key: str
    body: Any
    slot: int | None = None
    timed: bool = True


@dataclass(frozen=True)
class Start:
    """The first message to a worker process: it runs ``entry(setup)``, a module-level
    function (it crosses by reference) that prepares the process and returns its handler."""

    entry: Callable[[Any], Handler]
    setup: Any


@dataclass(frozen=True)
class Ready:
    """The worker has started and takes tasks."""


@dataclass(frozen=True)
class Said:
    """One event of the task in hand. ``timed``: the worker is now inside a step that the
    timeout limits (each timed event restarts the clock); False: it is between two steps (a
    run's worker has reported a case), and no timeout applies until it says something timed."""

    event: Any
    timed: bool = True


@dataclass(frozen=True)
class Done:
    """The task in hand is over; ``retire``: this worker ends after it (its memory grown past
    what it allows itself, or its one task done) and a fresh one takes its slot if there is
    work for it."""

    retire: bool = False


@dataclass(frozen=True)
class Died:
    """The launcher's word for a worker gone without a ``Done``: why, in a few words
    (``exit 3``, ``signal SIGKILL``, ``actor died: ...``)."""

    cause: str


Message = Ready | Said | Done | Died


class Outbox(Protocol):
    """The worker's end of its channel to the supervisor."""

    def send(self, message: Ready | Said | Done) -> None: ...

    def leave(self) -> None:
        """``Done(retire=True)`` delivered, then this process ends at once."""


class Reply:
    """What a handler talks through: events said, and the way out."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def say(self, event: Any, timed: bool = True) -> None:
        self.outbox.send(Said(event, timed))

    def leave(self) -> None:
        """End the task and this worker from anywhere in the handler (a run's worker whose
        quota is checked, deep inside Hypothesis, where returning is not possible)."""
        self.outbox.leave()


Handler = Callable[[Any, Reply], bool | None]
"""A worker's handler: one task body and the way to reply; True: retire after it."""

Emit = Callable[[Any], None]
"""One event said (a handler passes ``reply.say``; a test ``list.append``)."""


def exit_reason(code: int | None) -> str:
    """A process's end in a few words: ``exit 3``, ``signal SIGKILL``."""
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def leave_now() -> None:
    """End this process at once: no exit handlers (JAX's teardown, Hypothesis' threads) that
    could hang a worker whose work is over."""
    os._exit(0)
