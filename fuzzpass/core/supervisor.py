"""Worker processes that a crash, a hang or a segfault cannot take down with the run.

Both halves of one protocol live here. A worker (:func:`serve`) says ``{"event": "ready"}``
once it has imported what it needs (torch, JAX, Helion: seconds, allowed
:data:`STARTUP_SECONDS`). The parent (:class:`Supervisor`) then hands it one :class:`Task` at
a time, as a JSON line on its stdin; the worker answers with JSON lines on its stdout, one per
event, and ``{"event": "done"}`` when the task is over. Every line is a heartbeat. A worker
that dies, or says nothing about its task for ``timeout`` seconds, is killed and replaced, and
the parent's ``lost`` callback decides what becomes of its task: given up, or a narrower task
put first in line (a file again without the test that killed its worker). Workers are plain
subprocesses: what a kernel does to its process (``os._exit``, an abort in XLA, memory) stays
there.

``python -m <worker module>`` is a worker when its ``main`` calls :func:`serve`.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

STARTUP_SECONDS = 180.0
"""How long a new worker may take to say it is ready: a task's timeout starts when it is given."""


MAX_FAILED_STARTS = 3
"""Workers that may die before they are ready before the run stops: past that, every worker
would (a broken install), and trying forever would hang the run."""


class WorkersCannotStart(Exception):
    """Workers die before they are ready: one line, naming the log that says why."""


@dataclass(frozen=True)
class Task:
    """One unit of work: ``key`` names it in the parent's bookkeeping, ``body`` is what the
    worker reads."""

    key: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Lost:
    """A task whose worker died or went silent: what it said before (``events``, the last
    one telling where it was) and ``why``, in one line."""

    task: Task
    events: tuple[dict[str, Any], ...]
    why: str

    @property
    def where(self) -> dict[str, Any]:
        """The worker's last ``where`` event (what it was inside), or {}."""
        return next((e for e in reversed(self.events) if e.get("event") == "where"), {})


@dataclass
class _Worker:
    proc: subprocess.Popen[str]
    ready: bool = False
    task: Task | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    heard: float = field(default_factory=time.monotonic)
    partial: bytes = b""  # the start of a line not yet ended


@dataclass
class Supervisor:
    """``jobs`` workers running ``command``; :meth:`run` gives them tasks until none is left.

    ``heard(task, event)`` sees every event as it arrives; ``done(task, events)`` each task
    its worker finished, and may return a task to run next (what is left of a task whose
    worker retired part-way); ``lost(Lost)`` each task whose worker died or was killed, and
    may return a task to run next in its place. A worker that retires (its memory grown past
    what it allows itself) ends and is replaced by a fresh one."""

    command: list[str]
    jobs: int
    timeout: float
    log: IO[str]
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self,
        tasks: list[Task],
        done: Callable[[Task, list[dict[str, Any]]], Task | None],
        lost: Callable[[Lost], Task | None],
        heard: Callable[[Task, dict[str, Any]], None] | None = None,
    ) -> None:
        pending = list(tasks)
        workers: list[_Worker] = []
        failed_starts = 0
        selector = selectors.DefaultSelector()

        def start() -> None:
            env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
            proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, env=env
            )
            worker = _Worker(proc)
            workers.append(worker)
            selector.register(proc.stdout, selectors.EVENT_READ, worker)  # type: ignore[arg-type]

        def give(worker: _Worker) -> None:
            if not pending:
                retire(worker)
                return
            worker.task, worker.events, worker.heard = pending.pop(0), [], time.monotonic()
            assert worker.proc.stdin is not None
            try:
                worker.proc.stdin.write(json.dumps(worker.task.body) + "\n")
                worker.proc.stdin.flush()
            except BrokenPipeError:  # it died before it could read: the select loop hears of it
                return

        def retire(worker: _Worker) -> None:
            selector.unregister(worker.proc.stdout)  # type: ignore[arg-type]
            workers.remove(worker)
            with contextlib.suppress(BrokenPipeError):
                worker.proc.stdin.close()  # type: ignore[union-attr]
            try:
                worker.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.proc.kill()
                worker.proc.wait()

        def replace(worker: _Worker, why: str) -> None:
            nonlocal failed_starts
            selector.unregister(worker.proc.stdout)  # type: ignore[arg-type]
            workers.remove(worker)
            worker.proc.kill()
            worker.proc.wait()
            if not worker.ready:
                failed_starts += 1
                if failed_starts > MAX_FAILED_STARTS:
                    for other in list(workers):
                        other.proc.kill()
                    raise WorkersCannotStart(
                        f"{failed_starts} workers died before they were ready ({why}); see {self.log.name}"
                    )
            if worker.task is not None and (again := lost(Lost(worker.task, tuple(worker.events), why))) is not None:
                pending.insert(0, again)
            if pending and len(workers) < self.jobs:
                start()

        for _ in range(min(self.jobs, len(pending))):
            start()
        while workers:
            for key, _ in selector.select(timeout=1.0):
                worker = key.data
                lines = _read_lines(worker)
                if lines is None:
                    replace(worker, f"the worker died (exit {worker.proc.wait()})")
                    continue
                worker.heard = time.monotonic()
                for line in lines:
                    event = json.loads(line)
                    if event.get("event") == "ready":
                        worker.ready = True
                        give(worker)
                        continue
                    assert worker.task is not None
                    if event.get("event") == "done":
                        task, events = worker.task, worker.events
                        worker.task = None
                        if (again := done(task, events)) is not None:
                            pending.insert(0, again)
                        if event.get("retire"):
                            retire(worker)
                            if pending and len(workers) < self.jobs:
                                start()
                        else:
                            give(worker)
                        break
                    worker.events.append(event)
                    if heard is not None:
                        heard(worker.task, event)
            for worker in list(workers):
                silent = time.monotonic() - worker.heard
                if worker.task is not None and silent > self.timeout:
                    replace(worker, f"no answer in {self.timeout:.0f} s")
                elif not worker.ready and silent > STARTUP_SECONDS:
                    replace(worker, f"the worker did not start in {STARTUP_SECONDS:.0f} s")


def _read_lines(worker: _Worker) -> list[str] | None:
    """The whole lines a worker has written since the last call (None: it closed its end).
    Read from the file descriptor, not the buffered pipe: lines a buffer held would be
    invisible to ``select`` and wait for the worker's next line."""
    assert worker.proc.stdout is not None
    chunk = os.read(worker.proc.stdout.fileno(), 1 << 16)
    if not chunk:
        return None
    worker.partial += chunk
    *lines, worker.partial = worker.partial.split(b"\n")
    return [line.decode() for line in lines]


Emit = Callable[[dict[str, Any]], None]


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


def serve(handle: Callable[[dict[str, Any], Emit], bool | None]) -> None:
    """The worker's half: read tasks from stdin, call ``handle(body, emit)`` on each, then say
    ``done``; where ``handle`` returns True the worker retires after that task (its parent
    starts a fresh one). Only events go to stdout: what anything else prints, C code included,
    is sent to stderr (the parent's log)."""
    events: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def emit(event: dict[str, Any]) -> None:
        events.write(json.dumps(event, default=str) + "\n")

    emit({"event": "ready"})
    for line in sys.stdin:
        if line.strip():
            retiring = bool(handle(json.loads(line), emit))
            emit({"event": "done", "retire": retiring})
            if retiring:
                return


def orphan_watch(parent: int) -> None:
    """End this process when ``parent`` is gone (killed without a chance to stop it), instead
    of working on, unseen, for ever: a ``fuzzpass run`` worker, a baseline Helion's child."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()
