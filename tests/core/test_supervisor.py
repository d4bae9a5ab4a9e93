"""The one worker supervisor: tasks answered, a worker that dies or hangs on one task costs that
task alone (and ``lost`` may put a narrower task first in line), and workers that cannot start
stop the run with one line instead of looping."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from fuzzpass.core.supervisor import Lost, Supervisor, Task, WorkersCannotStart

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-m", "tests.core.toy_worker"]


def supervisor(tmp_path: Path, jobs: int = 2, timeout: float = 3.0, command: list[str] = COMMAND) -> Supervisor:
    log = (tmp_path / "workers.log").open("a")
    return Supervisor(command, jobs, timeout, log, env={"PYTHONPATH": str(ROOT)})


def task(name: str, do: str = "answer") -> Task:
    return Task(name, {"name": name, "do": do})


def test_each_task_answered_and_a_dead_or_hung_worker_costs_its_task_only(tmp_path: Path) -> None:
    done: dict[str, list[dict[str, Any]]] = {}
    lost: list[Lost] = []

    def on_lost(loss: Lost) -> Task | None:
        lost.append(loss)
        return task(f"{loss.task.key}-again") if loss.task.key == "dies" else None

    def on_done(t: Task, events: list[dict[str, Any]]) -> None:
        done[t.key] = events

    tasks = [task("a"), task("dies", "die"), task("hangs", "hang"), task("b"), task("c")]
    supervisor(tmp_path).run(tasks, on_done, on_lost)
    assert sorted(done) == ["a", "b", "c", "dies-again"]
    for name, events in done.items():  # only events on stdout: the printed noise went to the log
        assert events == [{"event": "where", "at": name}, {"event": "answer", "name": name, "pid": events[1]["pid"]}]
    why = {loss.task.key: loss.why for loss in lost}
    assert why == {"dies": "the worker died (exit 3)", "hangs": "no answer in 3 s"}
    assert all(loss.where == {"event": "where", "at": loss.task.key} for loss in lost)
    assert "noise a kernel prints" in (tmp_path / "workers.log").read_text()


def test_workers_that_cannot_start_stop_the_run_in_one_line(tmp_path: Path) -> None:
    broken = supervisor(tmp_path, jobs=1, command=[*COMMAND, "--die-at-start"])
    with pytest.raises(WorkersCannotStart, match=r"^4 workers died before they were ready \(the worker died"):
        broken.run([task("a")], lambda t, e: None, lambda loss: None)


def test_a_retiring_worker_is_replaced_and_what_is_left_of_its_task_runs_next(tmp_path: Path) -> None:
    done: list[tuple[str, int]] = []

    def on_done(t: Task, events: list[dict[str, Any]]) -> Task | None:
        done.append((t.key, events[-1]["pid"]))
        return task("rest") if t.key == "part" else None

    supervisor(tmp_path, jobs=1).run([task("part", "retire"), task("other")], on_done, lambda loss: None)
    assert [key for key, _ in done] == ["part", "rest", "other"]  # the rest first, in a fresh worker
    assert done[0][1] != done[1][1] == done[2][1]
