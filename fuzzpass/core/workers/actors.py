"""Workers as Ray actors over a Ray cluster (``--ray [ADDRESS]``), under the same supervisor as
local processes.

Each worker is an actor (:class:`WorkerActor`, one per slot, with the resources the client
asks for: a CPU, or a ``TPU`` chip) that runs ``entry(setup)`` and then each task body it is
given as an actor call. What it says goes to one mailbox actor on the driver's node
(:class:`Mailbox`), sent together every :data:`Post.EVERY` seconds by a thread of the worker's
own (:class:`Post`): an actor call costs both sides a millisecond or more, and one per message
was a tenth of a run's speed on two cores. A plain single-threaded actor runs the calls of one
caller in the order they were made, so a worker's messages arrive in order. A worker that
dies (its node lost, say) is heard of through its pending call failing; a hung or retired one
is ended with ``ray.kill``.

``address`` joins an existing cluster; None starts a local one for the run. Worker output stays
in Ray's logs on each node. Needs ``pip install 'fuzzpass[ray]'``.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fuzzpass.core.workers.messages import Died, Done, Handler, Message, Ready, Reply, Said, leave_now


@dataclass(frozen=True)
class Letter:
    """A message in the mailbox, with the worker that sent it."""

    sender: str
    message: Ready | Said | Done


class Mailbox:
    """The workers' messages to the driver (a Ray actor on the driver's node)."""

    def __init__(self) -> None:
        self.letters: list[Letter] = []

    def put(self, letters: list[Letter]) -> None:
        self.letters.extend(letters)

    def take(self) -> list[Letter]:
        letters, self.letters = self.letters, []
        return letters


class Post:
    """A worker's outbox to the :class:`Mailbox`: messages sent together every :data:`EVERY`
    seconds by a thread of its own (it sends even while the worker holds the GIL in Python:
    the interpreter switches threads every few milliseconds). A message waits at most that
    long, well inside any timeout. ``Done`` is sent at once and waits for delivery."""

    EVERY = 0.1

    def __init__(self, mailbox: Any, sender: str) -> None:
        self.mailbox, self.sender = mailbox, sender
        self.pending: list[Letter] = []
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def send(self, message: Ready | Said | Done) -> None:
        import ray

        with self.lock:
            self.pending.append(Letter(self.sender, message))
        if isinstance(message, Done):
            ray.get(self.flush())
        elif self.thread is None:
            self.thread = threading.Thread(target=self.keep_sending, name="fuzzpass-post", daemon=True)
            self.thread.start()

    def leave(self) -> None:
        self.send(Done(retire=True))
        leave_now()

    def flush(self) -> Any:
        """Send what is pending as one call (under the lock, so calls leave in order)."""
        with self.lock:
            letters, self.pending = self.pending, []
            return self.mailbox.put.remote(letters) if letters else None

    def keep_sending(self) -> None:
        while True:
            time.sleep(self.EVERY)
            self.flush()


class WorkerActor:
    """One worker (a Ray actor; its process ends with it)."""

    def __init__(self, mailbox: Any, sender: str) -> None:
        self.post = Post(mailbox, sender)
        self.handler: Handler | None = None

    def start(self, entry: Callable[[Any], Handler], setup: Any, env: dict[str, str], cwd: str) -> None:
        """Run ``entry`` where the driver runs (its directory, where this node has it), then say ready."""
        os.environ.update(env)
        if os.path.isdir(cwd):
            os.chdir(cwd)
        self.handler = entry(setup)
        self.post.send(Ready())

    def take(self, body: Any) -> None:
        assert self.handler is not None
        retiring = bool(self.handler(body, Reply(self.post)))
        self.post.send(Done(retiring))


@dataclass
class Actor:
    """A worker actor seen from the driver: its name, its handle, the call in progress."""

    name: str
    actor: Any
    call: Any  # the ObjectRef of its call in progress (start, or a task); None: idle


class RayLauncher:
    """Worker actors on the cluster at ``address`` (``local``: a new local one started here,
    never one that happens to run on this host already, which may end under the run), each
    with ``per_worker`` as its actor options (``{"num_cpus": 1}``, or a TPU chip)."""

    startup_seconds: float | None = None  # an actor may wait for room on the cluster as long as Ray makes it

    def __init__(self, address: str, per_worker: dict[str, Any]) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level=logging.WARNING)
        self.here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
        """Where an actor that must live beside the driver goes (the mailbox, a shared database)."""
        self.per_worker = per_worker
        self.mailbox = ray.remote(Mailbox).options(num_cpus=0, scheduling_strategy=self.here).remote()
        self.actors: dict[str, Actor] = {}
        self.names = (f"worker-{n}" for n in itertools.count())

    def slots(self, resource: str) -> int:
        """How many of ``resource`` (``CPU``, ``TPU``) the cluster has."""
        import ray

        return int(ray.cluster_resources().get(resource, 0))

    def where(self, slot: int) -> str:
        return "Ray's worker logs on each node"

    def start(self, slot: int, entry: Callable[[Any], Handler], setup: Any, env: dict[str, str]) -> Actor:
        import ray

        name = next(self.names)
        actor = ray.remote(WorkerActor).options(**self.per_worker).remote(self.mailbox, name)
        self.actors[name] = Actor(name, actor, actor.start.remote(entry, setup, env, os.getcwd()))
        return self.actors[name]

    def give(self, actor: Actor, body: Any) -> None:
        actor.call = actor.actor.take.remote(body)

    def poll(self, timeout: float) -> list[tuple[Actor, Message]]:
        """What the actors said, then which died. Deaths are looked for first: an actor posts
        everything, ``Done`` included, before it can end, so its letters are in the mailbox
        by the time its death shows."""
        import ray

        died, letters = self.deaths(), ray.get(self.mailbox.take.remote())
        if not died and not letters:
            time.sleep(timeout)
            died, letters = self.deaths(), ray.get(self.mailbox.take.remote())
        heard: list[tuple[Actor, Message]] = [
            (self.actors[x.sender], x.message) for x in letters if x.sender in self.actors
        ]
        return heard + died

    def deaths(self) -> list[tuple[Actor, Message]]:
        """Actors whose call failed, with Ray's account of why (its node lost, killed, an error)."""
        import ray

        calls = {a.call: a for a in self.actors.values() if a.call is not None}
        finished, _ = ray.wait(list(calls), num_returns=len(calls), timeout=0) if calls else ([], [])
        died: list[tuple[Actor, Message]] = []
        for ref in finished:
            actor, actor.call = calls[ref], None
            try:
                ray.get(ref)
            except Exception as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                died.append((actor, Died(f"actor died: {first}")))
        return died

    def stop(self, actor: Actor, kill: bool) -> None:
        import ray

        self.actors.pop(actor.name, None)
        ray.kill(actor.actor, no_restart=True)

    def close(self) -> None:
        import ray

        ray.shutdown()
