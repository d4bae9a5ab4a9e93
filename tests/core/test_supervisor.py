"""The one worker supervisor on real processes: tasks answered, a worker that dies or hangs on
one task costs that task alone (and ``lost`` may put another task first in line), workers that
cannot start stop the run with one line instead of looping, a retiring worker replaced, a
task kept to its slot, and a run stopped by its ``tick``."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.core.supervisor import Lost, Supervisor, WorkersCannotStart
from fuzzpass.core.workers.messages import Task
from fuzzpass.core.workers.processes import ProcessLauncher
from tests.core.toy_worker import toy

ROOT = Path(__file__).resolve().parents[2]


def supervisor(tmp_path: Path, jobs: int = 2, timeout: float = 3.0, **setup: Any) -> Supervisor:
    launcher = ProcessLauncher(lambda slot: tmp_path / "workers.log")
    return Supervisor(
        toy, setup, jobs, timeout, launcher, env=lambda slot: {"PYTHONPATH": str(ROOT), "SLOT": str(slot)}
    )


def task(name: str, do: str = "answer", **more: Any) -> Task:
    return Task(name, {"name": name, "do": do, **more}, slot=more.pop("slot", None))


class Heard:
    """What the callbacks were told."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.done: list[str] = []
        self.lost: list[Lost] = []

    def said(self, t: Task, event: dict[str, Any]) -> None:
        self.events.setdefault(t.key, []).append(event)

    def on_done(self, t: Task) -> None:
        self.done.append(t.key)

    def on_lost(self, loss: Lost) -> Task | None:
        self.lost.append(loss)
        return task(f"{loss.task.key}-again") if loss.task.key == "dies" else None


def test_each_task_answered_and_a_dead_or_hung_worker_costs_its_task_only(tmp_path: Path) -> None:
    heard = Heard()
    tasks = [task("a"), task("dies", "die"), task("hangs", "hang"), task("b"), task("c")]
    supervisor(tmp_path).run(tasks, heard.on_done, heard.on_lost, heard.said)
    assert sorted(heard.done) == ["a", "b", "c", "dies-again"]  # what lost returned ran, in a fresh worker
    for name in heard.done:  # only messages on the channel: the printed noise went to the log
        events = heard.events[name]
        assert [e["event"] for e in events] == ["where", "answer"] and events[1]["name"] == name
    why = {loss.task.key: (loss.why, loss.died) for loss in heard.lost}
    assert why == {"dies": ("the worker died (exit 3)", "exit 3"), "hangs": ("no answer in 3 s", None)}
    assert [e["event"] for e in heard.events["hangs"]] == ["where"]  # what it said before it was killed
    assert "noise a kernel prints" in (tmp_path / "workers.log").read_text()


def test_workers_that_cannot_start_stop_the_run_in_one_line_naming_the_log(tmp_path: Path) -> None:
    broken = supervisor(tmp_path, jobs=1, die_at_start=True)
    with pytest.raises(WorkersCannotStart) as raised:
        broken.run([task("a")], lambda t: None, lambda loss: None)
    assert str(raised.value) == (
        f"4 workers died before they were ready (the worker died (exit 4)); see {tmp_path / 'workers.log'}"
    )
    assert "\n" not in str(raised.value)


def test_a_retiring_worker_is_replaced_and_what_is_left_of_its_task_runs_next(tmp_path: Path) -> None:
    heard = Heard()
    answered: list[tuple[str, int]] = []

    def on_done(t: Task) -> Task | None:
        answered.append((t.key, heard.events[t.key][-1]["pid"]))
        return task("rest") if t.key == "part" else None

    supervisor(tmp_path, jobs=1).run([task("part", "retire"), task("other")], on_done, heard.on_lost, heard.said)
    assert [key for key, _ in answered] == ["part", "rest", "other"]  # the rest first, in a fresh worker
    assert answered[0][1] != answered[1][1] == answered[2][1]


def test_a_task_goes_to_its_slot_and_silence_between_steps_is_not_a_hang(tmp_path: Path) -> None:
    heard = Heard()
    tasks = [task("one", "rest", seconds=2.5, slot=1), task("zero", slot=0), task("any")]
    supervisor(tmp_path, timeout=1.0).run(tasks, heard.on_done, heard.on_lost, heard.said)
    assert sorted(heard.done) == ["any", "one", "zero"] and heard.lost == []  # 2.5 s untimed, past a 1 s timeout
    slots = {key: events[-1]["slot"] for key, events in heard.events.items()}
    assert slots["one"] == "1" and slots["zero"] == "0"


def test_tick_stops_the_run_and_every_worker_is_killed(tmp_path: Path) -> None:
    heard = Heard()
    start = time.monotonic()
    ticks = []

    def tick() -> bool:
        ticks.append(time.monotonic())
        return "hangs" in heard.events and time.monotonic() - start > 1.0

    supervisor(tmp_path, jobs=1, timeout=600).run(
        [task("hangs", "hang")], heard.on_done, heard.on_lost, heard.said, tick
    )
    assert heard.done == [] and heard.lost == []
    assert time.monotonic() - start < 30 and len(ticks) >= 2
    with pytest.raises(ProcessLookupError):  # the hung worker was killed (and reaped) at the end
        os.kill(heard.events["hangs"][0]["pid"], 0)
