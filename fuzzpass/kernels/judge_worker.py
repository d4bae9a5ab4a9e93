"""A judging worker of ``fuzzpass corpus``: one recorded call at a time, read from disk.

The supervisor (``core/supervisor.py``) runs :func:`judger` in a worker process or a Ray actor
and gives it :class:`JudgeCall` tasks, a call's folder (:mod:`.calls`); the worker judges the
call (:func:`.judge.judge_call`), turns a fired kernel into a case where the case language can
state it, and writes the ``kernel`` event to ``judged.json`` beside the call. Its parent kills
it when one call runs past ``--timeout``, and that call alone is the loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.core.workers.messages import Handler, Reply
from fuzzpass.core.workers.serve import resident_bytes
from fuzzpass.kernels import calls
from fuzzpass.kernels.calls import Settings
from fuzzpass.kernels.judge import judge_call
from fuzzpass.kernels.record import Call
from fuzzpass.kernels.to_case import NotExpressible, to_case


@dataclass(frozen=True)
class Judger:
    """What every judging worker of a run shares: the generations and gate it judges with,
    where deviceless compiles' outcomes are kept, the bytes it may hold before it retires."""

    settings: Settings
    cache: Path | None
    memory: int


@dataclass(frozen=True)
class JudgeCall:
    """A judging task: the call stored in ``folder``, of ``kernel`` in ``file``."""

    folder: str
    file: str
    kernel: str


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


def judger(setup: Judger) -> Handler:
    """Prepare this process to judge and return the handler that judges a :class:`JudgeCall`;
    True from it: the worker retires (a fresh one judges the next call)."""
    prepare(setup.settings, setup.cache)

    def handle(task: JudgeCall, reply: Reply) -> bool:
        folder = Path(task.folder)
        try:
            event = judge_stored(folder, setup.settings)
        except calls.Unreadable as e:
            event = {"event": "kernel", "file": task.file, "kernel": task.kernel, "status": "skipped"}
            event["reason"] = f"its record cannot be read: {e}"
        calls.write_judged(calls.Stored(folder, task.file, task.kernel), event)
        reply.say({"event": "judged", "kernel": event["kernel"], "status": event["status"]})
        return resident_bytes() > setup.memory

    return handle
