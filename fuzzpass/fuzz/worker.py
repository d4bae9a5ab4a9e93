"""A worker of ``fuzzpass run``: one :class:`~fuzzpass.fuzz.explorer.Explorer` per task, which
says every case it starts and every case it checks, until its quota or the run ends it.

The run's supervisor (``core/supervisor.py``) starts :func:`explorer` in a worker process or
a Ray actor with the run's :class:`Setup`, and gives it one :class:`Shard`: explore shard
``index``, ``incarnation`` (the how-many-th worker of that shard: Hypothesis' seeds and the
swarm subset are drawn from both), ``quota`` cases. A process's output goes to
``--out/logs/worker-<n>.log`` and it ends when the run is gone; an actor's output stays in
Ray's logs and Ray ends it with the run. libtpu's environment is set before JAX starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.core.case import Case
from fuzzpass.core.workers.messages import Handler, Reply
from fuzzpass.fuzz.examples import open_examples
from fuzzpass.fuzz.exhaust import Plan, cases
from fuzzpass.fuzz.explorer import Explorer
from fuzzpass.judge.checked import Checked, Config, check
from fuzzpass.judge.signature import Signature


@dataclass(frozen=True)
class Setup:
    """What every worker of a run shares. ``examples``: the example database, or where a lasting
    one is (``fuzz.examples``: a directory or a Redis URL); ``compile_cache``: where compiled
    programs are shared with the other workers of the host; ``exhaust``: (the plan, workers)
    for ``fuzzpass exhaust``, enumerated once by the run; ``chip_from_ray``: the TPU chip is
    the one Ray gave the actor (``--ray --backend tpu``)."""

    config: Config
    examples: Any
    shrink_seconds: float
    compile_cache: str | None = None
    exhaust: tuple[Plan, int] | None = None
    chip_from_ray: bool = False


@dataclass(frozen=True)
class Shard:
    """A worker's task: explore shard ``index``, its ``incarnation``-th worker, until ``quota``
    cases are checked (None: until the run ends), leaving out the op kinds ``disabled``
    (swarm testing); with ``exhaust``, the last ``quota`` cases of the shard's share instead
    of Hypothesis' draws."""

    index: int
    incarnation: int
    quota: int | None
    disabled: frozenset[str]


@dataclass(frozen=True)
class Started:
    """A case the worker has started checking (its file text): what a lost worker was on."""

    case: str


@dataclass(frozen=True)
class Shrunk:
    """Hypothesis' smallest case failing as ``signature`` did."""

    signature: Signature
    case: str


def explorer(setup: Setup) -> Handler:
    """Prepare this process (its chip, schedule dumps before libtpu starts, the compile
    cache, JAX) and return the handler that explores a :class:`Shard`."""
    if setup.chip_from_ray:
        from fuzzpass.backends import chips
        from fuzzpass.fuzz.cluster import chip

        os.environ.update(chips.environment(chip()))
    from fuzzpass.backends import schedule
    from fuzzpass.backends.environment import start_jax, use_compile_cache

    config = setup.config
    if config.gate is not None:
        schedule.enable()  # before JAX starts libtpu
    if setup.compile_cache is not None and (why := use_compile_cache(Path(setup.compile_cache), config.backend)):
        print(f"compile cache not used: {why}", flush=True)
    start_jax()

    def handle(shard: Shard, reply: Reply) -> None:
        explore(setup, shard, reply)

    return handle


def explore(setup: Setup, shard: Shard, reply: Reply) -> None:
    """Check cases, saying each one's start (timed: a case's timeout runs from here) and its
    result (untimed: Hypothesis' work between cases is not a case's); leaves the worker once
    ``quota`` cases are checked. Without a quota it returns only by being killed."""
    count = 0
    quota = shard.quota

    def on_start(case: Case) -> None:
        if quota is not None and count >= quota:  # here, not after the last case: a finding is saved by then
            reply.leave()
        reply.say(Started(case.dumps()))

    def on_case(checked: Checked) -> None:
        nonlocal count
        count += not checked.shrinking
        reply.say(checked, timed=False)

    def on_shrunk(found: Signature, case: str) -> None:
        reply.say(Shrunk(found, case), timed=False)

    if setup.exhaust is not None:
        plan, workers = setup.exhaust
        for case, expect in cases(plan, shard.index, workers, quota):
            on_start(case)
            on_case(check(case, setup.config, expect))
        reply.leave()
    database = setup.examples if not isinstance(setup.examples, (str, Path)) else open_examples(setup.examples)
    runner = Explorer(
        setup.config,
        shard.disabled,
        on_case,
        on_start,
        database,
        shrink_seconds=setup.shrink_seconds,
        on_shrunk=on_shrunk,
    )
    runner.explore(shard.index, shard.incarnation)
