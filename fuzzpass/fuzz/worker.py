"""A worker of ``fuzzpass run``: one :class:`~fuzzpass.fuzz.explorer.Explorer` that sends
every checked case to the run through a queue, until its quota or the run ends it. The same
function runs in a worker process (``fuzz/run.py``) and in a Ray actor (``fuzz/cluster.py``).

A process's output goes to ``--out/logs/worker-<n>.log`` and it exits by itself when the run
that spawned it is gone; an actor's output stays in Ray's logs and Ray ends it with the run.
It sets libtpu's environment before JAX starts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fuzzpass.core.case import Case
from fuzzpass.core.supervisor import orphan_watch
from fuzzpass.fuzz.corpus import open_corpus
from fuzzpass.fuzz.exhaust import Plan, cases
from fuzzpass.fuzz.explorer import Explorer
from fuzzpass.judge.checked import Checked, Config, check
from fuzzpass.judge.signature import Signature


def worker_main(
    index: int,
    incarnation: int,
    config: Config,
    disabled: frozenset[str],
    log: str | None,
    corpus: Any,
    quota: int | None,
    shrink_seconds: float,
    q: Any,
    parent: int | None,
    env: dict[str, str],
    compile_cache: str | None,
    exhaust: tuple[Plan, int] | None = None,
) -> None:
    """A worker process: explore until killed, or until ``quota`` cases are checked. ``env``
    is set before JAX starts (on a TPU host: the one chip this worker owns, ``backends.chips``);
    ``compile_cache``: where compiled programs are shared with the other workers of the host.
    ``log``: the file its output goes to (None: left where it goes); ``corpus``: the example
    database, or where a lasting one is (``fuzz.corpus``: a directory or a Redis URL);
    ``parent``: the process whose end ends this one (None: Ray's actor lifetime does that);
    ``exhaust``: (the plan, workers) for ``fuzzpass exhaust``: this worker's share of every
    structure up to K nodes, the last ``quota`` cases of it, instead of Hypothesis' draws."""
    os.environ.update(env)
    if parent is not None:
        orphan_watch(parent)
    if log is not None:
        output = open(log, "a", buffering=1)  # noqa: SIM115 (lives as the process)
        os.dup2(output.fileno(), 1)
        os.dup2(output.fileno(), 2)
    from fuzzpass.backends import schedule
    from fuzzpass.backends.environment import start_jax, use_compile_cache

    if config.gate is not None:
        schedule.enable()  # before JAX starts libtpu
    if compile_cache is not None and (why := use_compile_cache(Path(compile_cache), config.backend)):
        print(f"compile cache not used: {why}", flush=True)
    start_jax()
    count = 0

    def leave() -> None:
        q.put(("done", index, incarnation, None))
        if hasattr(q, "join_thread"):  # a process's queue: flush it before leaving (Ray's Post waits for "done")
            q.close()
            q.join_thread()
        os._exit(0)

    def on_start(case: Case) -> None:
        if quota is not None and count >= quota:  # here, not after the last case: a finding is saved by then
            leave()
        q.put(("start", index, incarnation, case.dumps()))

    def on_case(checked: Checked) -> None:
        nonlocal count
        count += not checked.shrinking
        q.put(("case", index, incarnation, checked))

    def on_shrunk(found: Signature, case: str) -> None:
        q.put(("shrunk", index, incarnation, (found, case)))

    if exhaust is not None:
        plan, workers = exhaust
        q.put(("ready", index, incarnation, None))
        for case, expect in cases(plan, index, workers, quota):
            on_start(case)
            on_case(check(case, config, expect))
        leave()
    explorer = Explorer(
        config,
        disabled,
        on_case,
        on_start,
        open_corpus(corpus) if isinstance(corpus, (str, Path)) else corpus,
        shrink_seconds=shrink_seconds,
        on_shrunk=on_shrunk,
    )
    q.put(("ready", index, incarnation, None))
    explorer.explore(index, incarnation)  # returns only by ``os._exit`` above, or by being killed
