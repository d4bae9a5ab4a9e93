"""``fuzzpass run --ray [ADDRESS]``: the run's workers as Ray actors over a Ray cluster.

Everything else is the run of ``fuzz/run.py``, on the driver: it draws nothing, receives every
checked case, writes each new finding atomically under ``--out``, enforces the budget and the
per-case timeout, shows progress, and minimizes and exports new findings beside the run. Only
two things change, and this module provides both:

- **where a worker runs**: :meth:`Cluster.Process` stands where ``multiprocessing``'s
  ``Process`` stands, and starts :func:`fuzzpass.fuzz.worker.worker_main`, the same function a
  worker process runs, in an actor: one CPU per actor, or one ``TPU`` (a chip) with
  ``--backend tpu``. A hung actor is killed with ``ray.kill`` and replaced; one that dies
  (its node lost, say) has its case recorded as ``crash``, and its successor is scheduled
  wherever the cluster has room.
- **how workers talk to the driver**: a mailbox actor for their messages (:class:`Mailbox`),
  and one shared example database: the run's :class:`~fuzzpass.fuzz.corpus.LastingCorpus`
  (``--out/corpus`` on the driver) held by an actor pinned to the driver's node, and
  :class:`RayCorpus`, Hypothesis' database interface in front of it in every actor. A Redis
  corpus (``--corpus redis://...``) needs neither: every actor opens it.

``ADDRESS`` joins an existing cluster (``ray start --head`` on one host, ``ray start
--address`` on the others); without it, a local one is started for the run. Ray's own
authentication stays as the cluster has it; fuzzpass opens nothing beyond what Ray opens.
Needs ``pip install 'fuzzpass[ray]'``.
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis.database import ExampleDatabase

from fuzzpass import backends
from fuzzpass.fuzz.corpus import is_redis, open_corpus


def unavailable() -> str | None:
    """Why ``--ray`` cannot run here, or None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install -e '.[ray]')"
    return None


class CorpusServer:
    """The run's lasting corpus, on the driver's node (a Ray actor)."""

    def __init__(self, path: str) -> None:
        self.db = open_corpus(path)

    def save(self, key: bytes, value: bytes) -> None:
        self.db.save(key, value)

    def fetch(self, key: bytes) -> list[bytes]:
        return list(self.db.fetch(key))

    def delete(self, key: bytes, value: bytes) -> None:
        self.db.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.db.move(src, dest, value)


class RayCorpus(ExampleDatabase):
    """Hypothesis' database interface in an actor, in front of the driver's :class:`CorpusServer`."""

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.server = server

    def save(self, key: bytes, value: bytes) -> None:
        import ray

        ray.get(self.server.save.remote(key, value))

    def fetch(self, key: bytes) -> Iterable[bytes]:
        import ray

        return ray.get(self.server.fetch.remote(key))

    def delete(self, key: bytes, value: bytes) -> None:
        import ray

        ray.get(self.server.delete.remote(key, value))

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        import ray

        ray.get(self.server.move.remote(src, dest, value))


class Mailbox:
    """The workers' messages to the driver (a Ray actor on the driver's node). A plain
    single-threaded actor runs the calls of one caller in the order they were made, so a worker
    posts without waiting (:class:`Post`) and its messages still arrive in order."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def put(self, items: list[Any]) -> None:
        self.items.extend(items)

    def take(self) -> list[Any]:
        items, self.items = self.items, []
        return items


class Post:
    """A worker's side of the :class:`Mailbox`. Messages are sent together, every
    :data:`EVERY` seconds, by a thread of the worker's own: an actor call costs both sides a
    millisecond or more of CPU, and two per case (a case's start, its result) were a tenth of
    the engine's speed on two cores. A message waits at most that long, well inside any per-case
    timeout; the thread sends even while the worker holds the GIL in Python (the interpreter
    switches threads every few milliseconds). A worker's last message (``done``) is sent at once
    and waits for delivery."""

    EVERY = 0.1

    def __init__(self, mailbox: Any) -> None:
        self.mailbox = mailbox
        self.pending: list[Any] = []
        self.lock = threading.Lock()
        self.sender: threading.Thread | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox}  # what crosses to the actor: its thread starts there

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["mailbox"])  # type: ignore[misc]

    def put(self, item: Any) -> None:
        import ray

        with self.lock:
            self.pending.append(item)
        if item[0] == "done":
            ray.get(self.send())
        elif self.sender is None:
            self.sender = threading.Thread(target=self.keep_sending, name="fuzzpass-post", daemon=True)
            self.sender.start()

    def send(self) -> Any:
        """Send what is pending as one call (under the lock, so calls leave in order)."""
        with self.lock:
            items, self.pending = self.pending, []
            return self.mailbox.put.remote(items) if items else None

    def keep_sending(self) -> None:
        while True:
            time.sleep(self.EVERY)
            self.send()


class Inbox:
    """The driver's side of the :class:`Mailbox`, with the part of ``queue.Queue``'s interface
    a run uses."""

    def __init__(self, mailbox: Any) -> None:
        self.mailbox, self.waiting = mailbox, collections.deque()

    def get(self, timeout: float) -> Any:
        import ray

        if not self.waiting:
            self.waiting.extend(ray.get(self.mailbox.take.remote()))
        if not self.waiting:
            time.sleep(timeout)
            self.waiting.extend(ray.get(self.mailbox.take.remote()))
        return self.get_nowait()

    def get_nowait(self) -> Any:
        if not self.waiting:
            raise queue.Empty
        return self.waiting.popleft()


class WorkerActor:
    """Runs one worker function (a Ray actor; its process ends with it)."""

    def run(self, target: Callable[..., None], args: tuple[Any, ...], backend: str) -> None:
        if backends.backend(backend).on_chips:  # TPU-only: the chip Ray gave this actor, laid out as chips does
            import os

            import ray

            from fuzzpass.backends import chips

            (chip, *_) = ray.get_runtime_context().get_accelerator_ids()["TPU"]
            os.environ.update(chips.environment(int(chip)))
        target(*args)


class ActorProcess:
    """A worker actor with the part of ``multiprocessing.Process``'s interface a run uses."""

    def __init__(self, cluster: Cluster, target: Callable[..., None], args: tuple[Any, ...]) -> None:
        self.cluster, self.target, self.args = cluster, target, args
        self.death: str | None = None  # why it died, as Ray says

    def start(self) -> None:
        import ray

        actor_class = ray.remote(WorkerActor).options(**self.cluster.per_worker)
        self.actor = actor_class.remote()
        self.done = self.actor.run.remote(self.target, self.args, self.cluster.backend)

    def is_alive(self) -> bool:
        import ray

        ready, _ = ray.wait([self.done], timeout=0)
        if ready and self.death is None:
            try:
                ray.get(self.done)
                self.death = "the actor returned"
            except Exception as e:  # Ray's account of the death: its node lost, killed, an error
                self.death = f"actor died: {str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__}"
        return not ready

    def kill(self) -> None:
        import ray

        ray.kill(self.actor, no_restart=True)

    def join(self, timeout: float | None = None) -> None:
        import ray

        ray.wait([self.done], timeout=timeout)

    @property
    def exitcode(self) -> int | None:
        return None


class Cluster:
    """A Ray cluster joined (``address``) or started locally (None) for one run."""

    def __init__(self, address: str | None, corpus: str, backend: str) -> None:
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        ray.init(address=address, log_to_driver=False, include_dashboard=False, logging_level=logging.WARNING)
        here = NodeAffinitySchedulingStrategy(node_id=ray.get_runtime_context().get_node_id(), soft=False)
        self.backend = backend
        self.per_worker: dict[str, Any] = (
            {"num_cpus": 0, "resources": {"TPU": 1}} if backends.backend(backend).on_chips else {"num_cpus": 1}
        )
        mailbox = ray.remote(Mailbox).options(num_cpus=0, scheduling_strategy=here).remote()
        self.queue, self.post = Inbox(mailbox), Post(mailbox)
        self.corpus: Any = corpus  # a Redis corpus: every actor opens it itself
        if not is_redis(corpus):
            server = ray.remote(CorpusServer).options(num_cpus=0, scheduling_strategy=here).remote(corpus)
            self.corpus = RayCorpus(server)

    def slots(self) -> int:
        """Workers the cluster has room for: its chips with ``--backend tpu``, else its CPUs."""
        import ray

        return int(ray.cluster_resources().get("TPU" if backends.backend(self.backend).on_chips else "CPU", 0))

    def Process(self, target: Callable[..., None], args: tuple[Any, ...], daemon: bool = True) -> ActorProcess:
        """A worker actor, not yet started (``multiprocessing``'s ``Process``, as the run calls it)."""
        return ActorProcess(self, target, args)

    def shutdown(self) -> None:
        import ray

        ray.shutdown()
