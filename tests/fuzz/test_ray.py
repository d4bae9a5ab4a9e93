"""``fuzzpass run --ray``: workers as Ray actors on a two-node cluster on this machine
(``ray.cluster_utils.Cluster``), a mutant's bug found and written once, and a node lost mid-run
costing no finding; the corpus shared through the driver's actor, or a Redis server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ray = pytest.importorskip("ray", reason="the ray extra (pip install -e '.[ray]'), which .ci/run installs")
import redis as redis_lib  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

# Ray starts its nodes with subprocess (fork, then exec): no JAX code runs in the forked child
pytestmark = pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")


@pytest.fixture
def cluster() -> Iterator[tuple[Cluster, Any]]:
    """A head node and a worker node, one CPU each: one worker actor on each."""
    quiet = {"include_dashboard": False, "include_log_monitor": False}  # the run streams no worker logs
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, **quiet})
    node = c.add_node(num_cpus=1, include_log_monitor=False)
    c.wait_for_nodes()
    yield c, node
    c.shutdown()


def fuzzpass_run(address: str, out: Path, *extra: str) -> subprocess.Popen[str]:
    # --policy deferrable: every case defers, so drop-remask's bug shows within seconds whatever a seed draws
    command = [sys.executable, "-m", "fuzzpass", "run", "--ray", address, "--jobs", "2", "--seed", "1", "--out",
               str(out), "--quiet", "--no-minimize", "--mutant", "drop-remask", "--policy", "deferrable",
               *extra]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_actors_find_a_mutants_bug_and_write_each_finding_once(
    cluster: tuple[Cluster, Any], tmp_path: Path, redis_url: str
) -> None:
    c, _ = cluster
    with fuzzpass_run(c.address, tmp_path, "--budget", "60", "--stop-at-first", "--examples", redis_url) as run:
        _, stderr = run.communicate(timeout=600)
    assert run.returncode == 1, stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stopped"] == "first finding" and summary["jobs"] == 2
    # both actors may be mid-finding when the first lands: the run waits for the other's, so one
    # or two findings, each signature once, each written once
    findings = summary["findings"]
    assert 1 <= len(findings) <= 2
    assert len({f["signature"] for f in findings}) == len(findings)
    assert all(f["kind"] in ("mismatch", "nonfinite-leak", "decision", "undischarged") for f in findings)
    written = sorted(p.parent.name for p in (tmp_path / "findings").glob("*/case.json"))
    assert written == sorted(Path(f["case"]).parent.name for f in findings)
    assert summary["compile_cache"] == str(tmp_path / "cache")  # each host's workers share their kernels there
    assert list((tmp_path / "cache" / "kernels").rglob("*.bin"))
    assert redis_lib.Redis.from_url(redis_url).keys()  # each actor reached the shared Redis corpus itself


def test_a_lost_node_costs_no_finding_and_the_run_finishes_on_the_other(
    cluster: tuple[Cluster, Any], tmp_path: Path
) -> None:
    c, node = cluster
    with fuzzpass_run(c.address, tmp_path, "--budget", "90") as run:
        summary_path = tmp_path / "summary.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # until both actors have checked cases and some finding is on disk
            time.sleep(1)
            found = list((tmp_path / "findings").glob("*/case.json"))
            if found and summary_path.is_file() and json.loads(summary_path.read_text())["cases"] >= 4:
                break
        before = {p.parent.name for p in (tmp_path / "findings").glob("*/case.json")}
        c.remove_node(node)
        _, stderr = run.communicate(timeout=600)
    summary = json.loads(summary_path.read_text())
    assert run.returncode == 1, stderr
    assert summary["stopped"] == "time budget"
    assert summary["worker_crashes"] >= 1  # the lost node's actor died and was replaced
    after = {Path(f["case"]).parent.name for f in summary["findings"]}
    assert before and before <= after  # nothing reported before the loss is lost
    assert after == {p.parent.name for p in (tmp_path / "findings").glob("*/case.json")}
    assert any((tmp_path / "examples").iterdir())  # the findings' examples, saved through the corpus actor


def test_without_ray_the_flag_says_how_to_install_it(tmp_path: Path) -> None:
    hidden = tmp_path / "no-ray"
    (hidden / "ray").mkdir(parents=True)
    (hidden / "ray" / "__init__.py").write_text("raise ImportError('no ray here')\n")
    command = [sys.executable, "-m", "fuzzpass", "run", "--ray", "--budget", "5", "--out", str(tmp_path)]
    env = dict(os.environ, PYTHONPATH=str(hidden))
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 2
    assert run.stderr.strip() == "fuzzpass: error: --ray: ray is not installed (pip install -e '.[ray]')"
