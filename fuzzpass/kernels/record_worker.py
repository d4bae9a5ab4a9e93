"""A recording worker of ``fuzzpass corpus``: runs a file's entries and writes each kernel call
to disk, judging nothing.

Judging a call (binds, interpret-mode runs, XLA compiles) happens in other workers
(:mod:`.judge_worker`), so a slow compile never costs a rerun of the file's tests. The
supervisor (``core/supervisor.py``) runs :func:`recorder` in a worker process or a Ray actor and
gives it :class:`RecordFile` tasks: a file, and ``skip``, entries an earlier worker ran already,
or died or hung in. Events (dicts, as they are written to the file's record): ``where`` as each
entry starts (what the parent blames if this worker dies), ``file``, then per entry a ``call``
per call it recorded (on disk by then) and ``ran`` (its outcome), then ``kernel`` per kernel
with no call to judge (and why).

A task's ``shard`` ``(i, n)``: only the entries whose number is ``i`` modulo ``n`` run (one
long test file split over several workers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.core.workers.messages import Emit, Handler, Reply
from fuzzpass.core.workers.serve import resident_bytes
from fuzzpass.kernels import calls, collect
from fuzzpass.kernels.record import Recorder


def kernel_name(kernel: Any) -> str:
    return kernel.fn.__qualname__.replace(".<locals>.", ".")


def seeded(seed: int) -> None:
    """Every random source a kernel file may draw its inputs from, seeded: same seed, same bytes."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass(frozen=True)
class Limits:
    """What one entry may take (seconds, the worker's own alarm) and what the worker may hold
    (bytes) before it retires between two entries."""

    seconds: float
    memory: int


@dataclass(frozen=True)
class Recording:
    """What every recording worker of a run shares: where calls go, the seed of every
    entry's inputs, its limits."""

    out: Path
    seed: int
    limits: Limits


@dataclass(frozen=True)
class RecordFile:
    """A recording task: ``file``'s entries of ``shard`` but ``skip``."""

    file: str
    skip: tuple[int, ...] = ()
    shard: tuple[int, int] = (0, 1)


def record_file(
    path: Path, skip: set[int], shard: tuple[int, int], emit: Emit, out: Path, seed: int, limits: Limits
) -> bool:
    """Import ``path`` and run its entries of ``shard`` (numbers ``i`` modulo ``n``) but
    ``skip``, recording its kernels' calls; after each entry its new calls are on disk
    (``call`` events) and its outcome said (``ran``), so a worker that dies in a later entry
    loses that entry alone. Kernels with no call to judge end the file (``kernel`` events,
    skipped with why). True where the worker grew past ``limits.memory`` with entries left:
    it retires (``retire``), and a fresh worker runs the rest."""
    from fuzzpass.backends import helion

    file = str(path)
    try:
        module, on_tpu = collect.load(path)
    except BaseException as e:  # an example may call sys.exit or fail on a missing package
        emit({"event": "file", "file": file, "skipped": f"import failed: {collect.one_line(e)}"})
        return False
    defined = collect.defined_kernels(module)
    entries = collect.entries(module)
    emit({"event": "file", "file": file, "entries": len(entries), "kernels": sorted(defined), "tpu_only": on_tpu})
    recorder = Recorder()
    written: set[int] = set()
    mine = [n for n in range(len(entries)) if n not in skip and n % shard[1] == shard[0]]
    for number in mine:
        entry = entries[number]
        if number != mine[0] and (held := resident_bytes()) > limits.memory:
            emit({"event": "retire", "reason": f"{held / 2**30:.1f} GiB resident before {entry.name}"})
            return True
        emit({"event": "where", "number": number, "entry": entry.name})
        start = time.perf_counter()
        seeded(seed)
        with collect.time_limit(limits.seconds):
            outcome, _why = collect.run_entry(entry, recorder, tpu=on_tpu is not None)
        if outcome == "skipped":
            seeded(seed)
            outcome = collect.run_skipped(entry, recorder) or outcome
        write_calls(recorder, written, file, number, out, emit)
        emit({"event": "ran", "number": number, "outcome": outcome, "seconds": time.perf_counter() - start})
    emit({"event": "where", "entry": "after its entries"})
    for key, kernel in ({id(k): k for k in defined.values()} | recorder.kernels).items():
        if recorder.calls.get(key):
            continue
        if (error := recorder.bind_errors.get(key)) is not None:
            reason = f"cannot be bound here: {helion.first_line(error)}"
        else:
            reason = "no entry of its file calls it" if entries else "its file has no test and no main()"
        emit({"event": "kernel", "file": file, "kernel": kernel_name(kernel), "status": "skipped", "reason": reason})
    return False


def write_calls(recorder: Recorder, written: set[int], file: str, number: int, out: Path, emit: Emit) -> None:
    """The calls entry ``number`` recorded, each written to disk (``<kernel>.<entry>.<n>``)."""
    for recorded in recorder.calls.values():
        fresh = [call for call in recorded if id(call) not in written]
        for n, call in enumerate(fresh):
            written.add(id(call))
            name = kernel_name(call.kernel)
            skipped = {"event": "kernel", "file": file, "kernel": name, "entry": call.entry, "status": "skipped"}
            try:
                stored = calls.write_call(out, file, name, f"{number}.{n}", call)
            except Exception as e:  # an argument or a config that does not pickle
                emit({**skipped, "reason": f"cannot be recorded: {collect.one_line(e)}"})
                continue
            emit({"event": "call", "file": file, "kernel": name, "folder": stored.folder.name})


def recorder(setup: Recording) -> Handler:
    """Prepare this process (Helion in interpret mode, default configs, JAX) and return the
    handler that records a :class:`RecordFile`; True from it: the worker retires."""
    from fuzzpass.backends import helion
    from fuzzpass.backends.environment import start_jax

    helion.prepare_environment()
    _run_default_configs()
    start_jax()

    def handle(task: RecordFile, reply: Reply) -> bool:
        return record_file(Path(task.file), set(task.skip), task.shard, reply.say, setup.out, setup.seed, setup.limits)

    return handle


def _run_default_configs() -> None:
    """A kernel without a config runs its default one: a file's tests never wait on a search."""
    import os

    os.environ.pop("HELION_DISALLOW_AUTOTUNING", None)
    os.environ["HELION_AUTOTUNE_EFFORT"] = "none"
