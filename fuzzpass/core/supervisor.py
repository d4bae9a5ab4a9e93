"""The one worker supervisor: workers that a crash, a hang or a segfault cannot take down with
the run, for every command that runs workers (``fuzzpass run``, ``exhaust``, ``mutants``,
``corpus``).

``jobs`` workers, each in a slot, run ``entry(setup)`` (a module-level function that prepares
the process and returns its handler) where a launcher puts them: local processes
(:class:`~fuzzpass.core.workers.processes.ProcessLauncher`) or Ray actors
(:class:`~fuzzpass.core.workers.actors.RayLauncher`). A worker says ``Ready``; the supervisor
then gives it one :class:`Task` at a time, and the worker answers with events and ``Done``
(:mod:`fuzzpass.core.workers.messages`). Every message is a heartbeat. A worker that dies, or
says nothing on its task for ``timeout`` seconds while inside a timed step, is killed and
replaced, and the client's ``lost`` callback decides what becomes of its task: given up, or a
task put first in line in its place (a file again without the test that killed its worker, a
run's shard with what is left of its quota). Workers that die before they are ready stop the
run with one line (:class:`WorkersCannotStart`) instead of being started for ever.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fuzzpass.core.workers.messages import Died, Done, Handler, Message, Ready, Said, Task

MAX_FAILED_STARTS = 3
"""Workers that may die before they are ready before the run stops: past that, every worker
would (a broken install), and trying forever would hang the run."""

SETTLE_SECONDS = 5.0
"""How long :meth:`Supervisor.run` waits at its end for a worker in the middle of something
that must not be cut (``settle``) to say its next word."""


class WorkersCannotStart(RuntimeError):
    """Workers die before they are ready: one line, naming the log that says why."""


@dataclass(frozen=True)
class Lost:
    """A task whose worker died or was killed for its silence: ``why`` in one line, and
    ``died``, the death's cause in a few words (``exit 3``, ``signal SIGKILL``) or None where
    the worker was killed because it said nothing in time."""

    task: Task
    why: str
    died: str | None


class Launcher(Protocol):
    """Where workers run: it starts them, hears them, gives them task bodies and ends them."""

    startup_seconds: float | None
    """How long a worker may take to be ready; None: the launcher's own scheduler decides
    (a Ray actor may wait for room on its cluster)."""

    def where(self, slot: int) -> str: ...

    def start(self, slot: int, entry: Callable[[Any], Handler], setup: Any, env: dict[str, str]) -> Any: ...

    def poll(self, timeout: float) -> list[tuple[Any, Message]]: ...

    def give(self, handle: Any, body: Any) -> None: ...

    def stop(self, handle: Any, kill: bool) -> None: ...

    def close(self) -> None: ...


@dataclass
class _Worker:
    handle: Any
    slot: int
    ready: bool = False
    task: Task | None = None
    clock: float | None = None  # since when its timed step has been silent; None: not timed
    heard: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class _Client:
    """What :meth:`Supervisor.run` was given to call (see there)."""

    done: Callable[[Task], Task | None]
    lost: Callable[[Lost], Task | None]
    said: Callable[[Task, Any], None] | None
    settle: Callable[[Task], bool] | None


@dataclass
class Supervisor:
    """``jobs`` workers running ``entry(setup)`` where ``launcher`` puts them, slot ``n``'s
    with ``env(n)`` in its environment; :meth:`run` gives them tasks."""

    entry: Callable[[Any], Handler]
    setup: Any
    jobs: int
    timeout: float
    launcher: Launcher
    env: Callable[[int], dict[str, str]] = lambda slot: {}
    pending: list[Task] = field(default_factory=list)
    workers: dict[int, _Worker] = field(default_factory=dict)
    failed_starts: int = 0
    client: _Client | None = None

    def run(
        self,
        tasks: list[Task],
        done: Callable[[Task], Task | None],
        lost: Callable[[Lost], Task | None],
        said: Callable[[Task, Any], None] | None = None,
        tick: Callable[[], bool] | None = None,
        settle: Callable[[Task], bool] | None = None,
    ) -> None:
        """Until every task is done, or ``tick`` (called a few times a second) says stop.

        ``said(task, event)`` sees every event as it arrives; ``done(task)`` each task its
        worker finished, and may return a task to run next (what is left of a task whose
        worker retired part-way); ``lost(Lost)`` each task whose worker died or was killed,
        and may return a task to run next in its place. At the end, workers whose task
        ``settle`` holds are given a few seconds to say their next word (a finding being
        written to a database), then every worker is stopped."""
        self.pending, self.client = list(tasks), _Client(done, lost, said, settle)
        for slot in range(self.jobs):
            if len(self.workers) < len(self.pending) and self._wanted(slot):
                self._start(slot)
        try:
            while self.workers:
                for handle, message in self.launcher.poll(0.2):
                    if (worker := self._worker(handle)) is not None:
                        self._hear(worker, message)
                self._check_clocks()
                if tick is not None and tick():
                    return
        finally:
            self._stop()

    def _worker(self, handle: Any) -> _Worker | None:
        """The worker of ``handle``, if it is still one of this supervisor's."""
        return next((w for w in self.workers.values() if w.handle is handle), None)

    def _hear(self, worker: _Worker, message: Message) -> None:
        assert self.client is not None
        now = worker.heard = time.monotonic()
        if isinstance(message, Ready):
            worker.ready = True
            self._give(worker)
        elif isinstance(message, Said):
            worker.clock = now if message.timed else None
            if self.client.said is not None and worker.task is not None:
                self.client.said(worker.task, message.event)
        elif isinstance(message, Done):
            task, worker.task = worker.task, None
            if task is not None and (again := self.client.done(task)) is not None:
                self.pending.insert(0, again)
            if message.retire:
                self._end(worker, kill=False)
            else:
                self._give(worker)
        elif isinstance(message, Died):
            self._replace(worker, f"the worker died ({message.cause})", message.cause)

    def _wanted(self, slot: int) -> bool:
        return any(t.slot in (None, slot) for t in self.pending)

    def _start(self, slot: int) -> None:
        handle = self.launcher.start(slot, self.entry, self.setup, self.env(slot))
        self.workers[slot] = _Worker(handle, slot)

    def _give(self, worker: _Worker) -> None:
        task = next((t for t in self.pending if t.slot in (None, worker.slot)), None)
        if task is None:  # nothing for it: it ends, and a lost task's successor gets a fresh one
            self._end(worker, kill=False)
            return
        self.pending.remove(task)
        worker.task, worker.clock = task, time.monotonic() if task.timed else None
        self.launcher.give(worker.handle, task.body)

    def _end(self, worker: _Worker, kill: bool) -> None:
        """Stop a worker; a fresh one takes its slot if there is work for it."""
        del self.workers[worker.slot]
        self.launcher.stop(worker.handle, kill)
        if self._wanted(worker.slot):
            self._start(worker.slot)

    def _replace(self, worker: _Worker, why: str, died: str | None) -> None:
        """A worker that died or went silent: killed, its task given to ``lost``, its slot
        refilled; the run stopped once too many died before they were ready."""
        del self.workers[worker.slot]
        self.launcher.stop(worker.handle, kill=True)
        if not worker.ready:
            self.failed_starts += 1
            if self.failed_starts > MAX_FAILED_STARTS:
                raise WorkersCannotStart(
                    f"{self.failed_starts} workers died before they were ready ({why}); "
                    f"see {self.launcher.where(worker.slot)}"
                )
        assert self.client is not None
        if worker.task is not None and (again := self.client.lost(Lost(worker.task, why, died))) is not None:
            self.pending.insert(0, again)
        if self._wanted(worker.slot):
            self._start(worker.slot)

    def _check_clocks(self) -> None:
        now, startup = time.monotonic(), self.launcher.startup_seconds
        for worker in list(self.workers.values()):
            if worker.task is not None and worker.clock is not None and now - worker.clock > self.timeout:
                self._replace(worker, f"no answer in {self.timeout:.0f} s", None)
            elif not worker.ready and startup is not None and now - worker.heard > startup:
                self._replace(worker, f"the worker did not start in {startup:.0f} s", None)

    def _stop(self) -> None:
        """Give unsettled workers :data:`SETTLE_SECONDS` to say anything more (what they say
        is not heard: the run is over), then kill every worker."""
        settle = self.client.settle if self.client is not None else None
        waiting = [w for w in self.workers.values() if w.task is not None and settle is not None and settle(w.task)]
        deadline = time.monotonic() + SETTLE_SECONDS
        while waiting and time.monotonic() < deadline:
            spoke = {id(handle) for handle, _ in self.launcher.poll(0.1)}
            waiting = [w for w in waiting if id(w.handle) not in spoke]
        for worker in list(self.workers.values()):
            self.launcher.stop(worker.handle, kill=True)
        self.workers.clear()
        self.pending.clear()
