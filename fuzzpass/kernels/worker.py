"""One worker process of ``fuzzpass corpus``: files in on stdin, one JSON event a line out.

It reads ``FILE<TAB>ENTRIES<TAB>KERNELS`` lines, the last two comma-separated entry numbers and
kernel names to leave out (the parent's way to run a file again past an entry or a kernel that
killed or hung a worker), and for each file writes an ``entry`` event as each entry starts, a
``judging`` event before each kernel is judged, a ``kernel`` event per kernel call (checked, or
skipped with its reason) and ``done``. Everything the kernels and libraries print goes to stderr: stdout carries events
only. ``python -m fuzzpass.kernels.worker --tpu v5e,v6e,tpu7x --gate v5e,v6e,tpu7x``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from fuzzpass.kernels import collect
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Recorder
from fuzzpass.kernels.to_case import NotExpressible, to_case


def kernel_name(kernel: Any) -> str:
    return kernel.fn.__qualname__.replace(".<locals>.", ".")


@dataclass(frozen=True)
class Settings:
    """What every file is checked with: TPU generations, the gate audit's judged generations
    (None: no audit), and the only kernels to judge (empty: all)."""

    generations: tuple[str, ...]
    gate: tuple[str, ...] | None
    only: frozenset[str] = frozenset()
    seed: int = 0
    limit: float = 240.0  # seconds one entry or one kernel call may take in the worker


def seeded(seed: int) -> None:
    """Every random source a kernel file may draw its inputs from, seeded: same seed, same bytes."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_file(path: Path, skip: set[int], skip_kernels: set[str], emit: Any, settings: Settings) -> None:
    """Import ``path``, run its entries but ``skip`` while recording its kernels' calls, then
    judge each kernel but ``skip_kernels`` (``emit`` gets each event)."""
    file = str(path)
    try:
        module = collect.load(path)
    except BaseException as e:  # an example may call sys.exit or fail on a missing package
        emit({"event": "file", "file": file, "skipped": f"import failed: {collect.one_line(e)}"})
        return
    defined = collect.defined_kernels(module)
    entries = collect.entries(module)
    emit({"event": "file", "file": file, "entries": len(entries), "kernels": sorted(defined)})
    recorder = Recorder()
    outcomes: dict[str, int] = {}
    skipped: list[tuple[int, collect.Entry]] = []
    start = time.perf_counter()
    for number, entry in enumerate(entries):
        if number in skip:
            continue
        emit({"event": "entry", "file": file, "number": number, "entry": entry.name})
        seeded(settings.seed)
        with collect.time_limit(settings.limit):
            outcome, _why = collect.run_entry(entry, recorder)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcome == "skipped":
            skipped.append((number, entry))
    for number, entry in skipped:
        emit({"event": "entry", "file": file, "number": number, "entry": entry.name})
        if (outcome := collect.run_skipped(entry, recorder)) is not None:
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    seconds = {"entries": time.perf_counter() - start}
    emit({"event": "entries", "file": file, "outcomes": outcomes, "seconds": seconds})
    kernels = {id(k): k for k in defined.values()} | recorder.kernels
    for key, kernel in kernels.items():
        name = kernel_name(kernel)
        if name in skip_kernels or (settings.only and name not in settings.only):
            continue
        calls = recorder.calls.get(key, [])
        if not calls:
            reason = "no entry of its file calls it" if entries else "its file has no test and no main()"
            emit({"event": "kernel", "file": file, "kernel": name, "status": "skipped", "reason": reason})
            continue
        emit({"event": "judging", "file": file, "kernel": name})
        for call in calls:
            emit(judge_one(call, file, name, settings))


def judge_one(call: Any, file: str, name: str, settings: Settings) -> dict[str, Any]:
    """One call judged, as a ``kernel`` event; a kernel that cannot be bound here, or is not
    judged within ``settings.limit``, is skipped with that reason."""
    from fuzzpass.backends import helion

    skipped = {"event": "kernel", "file": file, "kernel": name, "entry": call.entry, "status": "skipped"}
    try:
        with collect.time_limit(settings.limit):
            judged, structure = judge_call(call, file, name, settings.generations, settings.gate)
    except collect.OutOfTime:
        return {**skipped, "reason": f"no answer in {settings.limit:.0f} s while judged"}
    except Exception as e:
        return {**skipped, "reason": f"cannot be bound here: {helion.first_line(e)}"}
    if judged.fired and "blocks_unread" in structure:
        judged.case = {"reason": f"the config's block sizes could not be read: {structure['blocks_unread']}"}
    elif judged.fired and structure:
        try:
            judged.case = {"text": to_case(name.replace(".", "-"), structure["graphs"], structure["blocks"]).dumps()}
        except NotExpressible as e:
            judged.case = {"reason": str(e)}
    return {"event": "kernel", **judged.to_json()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzzpass.kernels.worker")
    parser.add_argument("--tpu", default="")
    parser.add_argument("--gate", default=None)
    parser.add_argument("--only", default="")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--limit", type=float, default=240.0)
    args = parser.parse_args(argv)
    events: IO[str] = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # what anything else prints, C code included, goes to stderr
    sys.stdout = sys.stderr
    from fuzzpass.backends import helion, schedule
    from fuzzpass.backends.environment import start_jax, use_compile_cache

    helion.prepare_environment()
    os.environ.pop("HELION_DISALLOW_AUTOTUNING", None)
    os.environ["HELION_AUTOTUNE_EFFORT"] = "none"  # a kernel without a config runs its default one
    if args.gate is not None:
        schedule.enable()  # before libtpu starts
    start_jax()  # several workers may each load libtpu to compile deviceless
    if args.cache:
        use_compile_cache(Path(args.cache), "helion")  # deviceless compiles' outcomes, kept across runs
    settings = Settings(
        tuple(g for g in args.tpu.split(",") if g),
        tuple(g for g in args.gate.split(",") if g) if args.gate is not None else None,
        frozenset(k for k in args.only.split(",") if k),
        args.seed,
        args.limit,
    )

    def emit(event: dict[str, Any]) -> None:
        events.write(json.dumps(event, default=str) + "\n")

    for line in sys.stdin:
        file, entries, kernels = ([*line.rstrip("\n").split("\t"), "", ""])[:3]
        skip = {int(n) for n in entries.split(",") if n}
        check_file(Path(file), skip, {k for k in kernels.split(",") if k}, emit, settings)
        emit({"event": "done", "file": file})
    return 0


if __name__ == "__main__":
    sys.exit(main())
