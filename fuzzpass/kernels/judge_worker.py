"""A judging worker of ``fuzzpass corpus``: one recorded call at a time, read from disk.

A task is ``{"folder": CALL FOLDER}`` (:mod:`.calls`); the worker judges the call
(:func:`.judge.judge_call`), turns a fired kernel into a case where the case language can
state it, and writes the ``kernel`` event to ``judged.json`` beside the call. Its parent kills
it when one call runs past ``--timeout``, and that call alone is the loss.

``python -m fuzzpass.kernels.judge_worker --tpu v5e,v6e,tpu7x --gate v5e,v6e,tpu7x``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fuzzpass.core.supervisor import Emit, memory_budget, resident_bytes, serve
from fuzzpass.kernels import calls
from fuzzpass.kernels.calls import Settings
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Call
from fuzzpass.kernels.to_case import NotExpressible, to_case


def judge_stored(folder: Path, settings: Settings) -> dict[str, Any]:
    """The ``kernel`` event of the call stored in ``folder`` (where it lives in ``call``)."""
    file, name, call = calls.read_call(folder)
    event = judge_one(call, file, name, settings)
    return {**event, "judged_with": settings.to_json(), "call": str(folder)}


def prepare(settings: Settings, cache: Path | None) -> None:
    """This process ready to judge: Helion in interpret mode, schedule dumps on before libtpu
    starts where the gate is audited, JAX started, deviceless compiles' outcomes kept in
    ``cache`` across runs."""
    from fuzzpass.backends import helion, schedule
    from fuzzpass.backends.environment import start_jax, use_compile_cache

    helion.prepare_environment()
    if settings.gate is not None:
        schedule.enable()
    start_jax()  # several workers may each load libtpu to compile deviceless
    if cache is not None:
        use_compile_cache(cache, "helion")


def judge_one(call: Call, file: str, name: str, settings: Settings) -> dict[str, Any]:
    """One call judged, as a ``kernel`` event; a kernel that cannot be bound here is skipped
    with Helion's message."""
    from fuzzpass.backends import helion

    skipped = {"event": "kernel", "file": file, "kernel": name, "entry": call.entry, "status": "skipped"}
    try:
        judged, structure = judge_call(call, file, name, settings.generations, settings.gate)
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
    parser = argparse.ArgumentParser(prog="python -m fuzzpass.kernels.judge_worker")
    parser.add_argument("--tpu", default="")
    parser.add_argument("--gate", default=None)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--memory", type=int, default=memory_budget(1), help="bytes held before retiring")
    args = parser.parse_args(argv)
    settings = Settings(
        tuple(g for g in args.tpu.split(",") if g),
        tuple(g for g in args.gate.split(",") if g) if args.gate is not None else None,
    )
    prepare(settings, Path(args.cache) if args.cache else None)

    def handle(task: dict[str, Any], emit: Emit) -> bool:
        folder = Path(task["folder"])
        try:
            event = judge_stored(folder, settings)
        except calls.Unreadable as e:
            event = {"event": "kernel", "file": task["file"], "kernel": task["kernel"], "status": "skipped"}
            event["reason"] = f"its record cannot be read: {e}"
        calls.write_judged(calls.Stored(folder, task["file"], task["kernel"]), event)
        emit({"event": "judged", "kernel": event["kernel"], "status": event["status"]})
        return resident_bytes() > args.memory  # retire: a fresh worker judges the next call

    serve(handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
