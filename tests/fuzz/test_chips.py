"""One TPU chip per worker on a TPU host: chips counted without libtpu, each worker's
environment, and a run's parent that never starts JAX. The run on chips is TPU-only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import chips
from fuzzpass.fuzz.options import Budget, Options
from fuzzpass.fuzz.run import Run
from fuzzpass.judge.checked import Config

NO_CHIPS = "no TPU chips on this host (no /dev/accel<N> or /dev/vfio/<N>)"


def fake_dev(tmp_path: Path, names: list[str]) -> Path:
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).touch()
    return tmp_path


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["accel0", "accel1", "accel2", "accel3", "accelerator"], 4),  # v4, v5e
        (["vfio/vfio", "vfio/0", "vfio/1", "vfio/2", "vfio/3", "vfio/4", "vfio/5", "vfio/6", "vfio/7"], 8),  # v6e-8
        (["null", "vfio/vfio"], 0),  # a machine without chips, with vfio's control device only
    ],
)
def test_chips_are_counted_from_their_device_files(tmp_path: Path, names: list[str], expected: int) -> None:
    assert chips.count(fake_dev(tmp_path, names)) == expected


def test_each_worker_owns_one_chip_on_its_own_port() -> None:
    env = chips.environment(3)
    assert env == {
        "TPU_VISIBLE_CHIPS": "3",
        "TPU_PROCESS_BOUNDS": "1,1,1",
        "TPU_CHIPS_PER_PROCESS_BOUNDS": "1,1,1",
        "TPU_PROCESS_PORT": "8479",
        "TPU_PROCESS_ADDRESSES": "localhost:8479",
        "CLOUD_TPU_TASK_ID": "0",
    }
    assert len({chips.environment(i)["TPU_PROCESS_PORT"] for i in range(8)}) == 8


def test_more_workers_than_chips_or_no_chips_is_refused(tmp_path: Path) -> None:
    dev = fake_dev(tmp_path, ["accel0", "accel1"])
    assert chips.unavailable(None, dev) is None and chips.unavailable(2, dev) is None
    assert chips.unavailable(3, dev) == "--jobs 3 is more than this host's 2 TPU chips (one worker owns one chip)"
    assert chips.unavailable(None, tmp_path / "empty") == NO_CHIPS


@pytest.mark.parametrize("backend", ["tpu", "interpret"])
def test_the_run_gives_worker_i_chip_i_and_no_chip_environment_off_tpu(tmp_path: Path, backend: str) -> None:
    run = Run(Options(Config(backend=backend), Budget(seconds=1), jobs=2, out=tmp_path, progress=False))
    tasks = [run.task(index, 0, None) for index in range(2)]
    assert [t.slot for t in tasks] == [0, 1]  # shard i's every incarnation runs in slot i
    envs = [run.environment(t.slot) for t in tasks]  # what the supervisor gives slot i's process
    assert envs == ([chips.environment(0), chips.environment(1)] if backend == "tpu" else [{}, {}])


@pytest.mark.skipif(chips.count() > 0, reason="a machine without TPU chips")
def test_a_tpu_run_without_chips_exits_2_and_says_why(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "fuzzpass", "run", "--backend", "tpu", "--budget", "5", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert run.returncode == 2
    assert run.stderr.strip() == f"fuzzpass: error: --backend tpu: {NO_CHIPS}"


@pytest.mark.skipif(chips.count() == 0, reason="TPU-only: needs a TPU host's chips")
def test_on_a_tpu_host_every_chip_runs_a_worker_of_its_own(tmp_path: Path) -> None:  # TPU-only
    run = subprocess.run([sys.executable, "-m", "fuzzpass", "run", "--backend", "tpu", "--budget", "60", "--seed",
                          "1", "--out", str(tmp_path), "--quiet", "--no-minimize"], capture_output=True, text=True,
                         timeout=900)  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert run.returncode in (0, 1), run.stderr
    assert summary["jobs"] == chips.count() and summary["worker_crashes"] == 0
    assert all(w["cases"] > 0 for w in summary["workers"]), "a worker that could not take its chip checks nothing"
