"""``fuzzpass run --ray [ADDRESS]``: the run's workers as Ray actors over a Ray cluster.

Everything else is the run of ``fuzz/run.py``, on the driver: it draws nothing, receives every
checked case, writes each new finding atomically under ``--out``, enforces the budget and the
per-case timeout, shows progress, and minimizes and exports new findings beside the run. The
workers run on the supervisor's Ray launcher (:mod:`fuzzpass.core.workers.actors`: actors,
their mailbox, messages sent in batches); this module adds what a fuzz run needs of the
cluster:

- **a worker's resources**: one CPU per actor, or one ``TPU`` (a chip) with ``--backend tpu``,
  laid out by the worker as ``backends.chips`` lays out a process's chip (:func:`chip`);
- **one shared example database**: the run's :class:`~fuzzpass.fuzz.examples.LastingExamples`
  (``--out/examples`` on the driver) held by an actor pinned to the driver's node
  (:class:`ExamplesServer`), and :class:`RayExamples`, Hypothesis' database interface in front of
  it in every actor. A Redis database (``--examples redis://...``) needs neither: every actor
  opens it.

``ADDRESS`` joins an existing cluster (``ray start --head`` on one host, ``ray start
--address`` on the others); without it, a local one is started for the run. Ray's own
authentication stays as the cluster has it; fuzzpass opens nothing beyond what Ray opens.
Needs ``pip install 'fuzzpass[ray]'``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hypothesis.database import ExampleDatabase

from fuzzpass import backends
from fuzzpass.core.workers.actors import RayLauncher
from fuzzpass.fuzz.examples import is_redis, open_examples


def unavailable() -> str | None:
    """Why ``--ray`` cannot run here, or None."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (pip install -e '.[ray]')"
    return None


class ExamplesServer:
    """The run's lasting example database, on the driver's node (a Ray actor)."""

    def __init__(self, path: str) -> None:
        self.db = open_examples(path)

    def save(self, key: bytes, value: bytes) -> None:
        self.db.save(key, value)

    def fetch(self, key: bytes) -> list[bytes]:
        return list(self.db.fetch(key))

    def delete(self, key: bytes, value: bytes) -> None:
        self.db.delete(key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.db.move(src, dest, value)


class RayExamples(ExampleDatabase):
    """Hypothesis' database interface in an actor, in front of the driver's :class:`ExamplesServer`."""

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


def chip() -> int:
    """The TPU chip Ray gave this actor."""
    import ray

    (ids, *_) = ray.get_runtime_context().get_accelerator_ids()["TPU"]
    return int(ids)


class Cluster:
    """A Ray cluster joined (``address``) or started locally (``local``) for one run: its
    launcher, and the example database its workers share."""

    def __init__(self, address: str, examples: str, backend: str) -> None:
        import ray

        self.on_chips = backends.backend(backend).on_chips
        per_worker: dict[str, Any] = {"num_cpus": 0, "resources": {"TPU": 1}} if self.on_chips else {"num_cpus": 1}
        self.launcher = RayLauncher(address, per_worker)
        self.examples: Any = examples  # a Redis database: every actor opens it itself
        if not is_redis(examples):
            server = ray.remote(ExamplesServer).options(num_cpus=0, scheduling_strategy=self.launcher.here)
            self.examples = RayExamples(server.remote(examples))

    def slots(self) -> int:
        """Workers the cluster has room for: its chips with ``--backend tpu``, else its CPUs."""
        return self.launcher.slots("TPU" if self.on_chips else "CPU")
