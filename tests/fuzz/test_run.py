"""``fuzzpass run`` and ``fuzzpass mutants`` as a user runs them: budgets, workers, findings on
disk, replay, and a run that outlives its workers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fuzzpass.commands.flags import MUTANT_NAMES
from fuzzpass.core.case import load_case
from fuzzpass.fuzz.options import Budget, BudgetError
from fuzzpass.judge.mutants import MUTANTS


def fuzzpass(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuzzpass", *args], capture_output=True, text=True, timeout=timeout)


def test_a_short_run_of_the_real_pass_finds_nothing(tmp_path: Path) -> None:
    run = fuzzpass("run", "--budget", "24cases", "--jobs", "2", "--seed", "7", "--out", str(tmp_path), "--json")
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert json.loads(run.stdout) == summary
    assert summary["cases"] == 24 and summary["findings"] == [] and summary["seed"] == 7
    assert summary["seconds"] > 0 and summary["cases_per_s"] > 0
    assert sum(summary["coverage"].values()) >= 24 and set(summary["branches"]) >= {"deferred", "gate"}
    assert "seed 7" in run.stderr and "no findings" in run.stderr
    assert {"generate", "codegen", "data", "ground-truth", "interpret-compile"} <= set(summary["profile"])
    assert 0 < sum(summary["profile"].values()) <= 2 * summary["seconds"]  # worker seconds, two workers
    assert not list((tmp_path / "findings").glob("*"))


def test_a_mutant_finding_is_written_replayed_and_rechecked(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = fuzzpass("run", "--budget", "60", "--jobs", "1", "--seed", "3", "--mutant", "inverted-gate",
                   "--stop-at-first", "--out", str(out), "--quiet")  # fmt: skip
    assert run.returncode == 1, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    (finding,) = summary["findings"]
    assert finding["kind"] == "decision" and finding["new"] is True
    case = load_case(finding["case"])  # a case file like any other
    verdict = json.loads(Path(finding["verdict_json"]).read_text())
    assert verdict["verdict"] == "decision" and verdict["mutant"] == "inverted-gate"
    assert verdict["oracle"]  # the generator's reasons, by construction

    again = fuzzpass("check", finding["case"], "--backend", "interpret", "--mutant", "inverted-gate", "--json")
    assert again.returncode == 1 and json.loads(again.stdout)["verdict"] == "decision"
    assert fuzzpass("check", finding["case"], "--backend", "interpret").returncode == 0  # the real pass
    oracle = {
        load: tuple(t for t, r in reasons.items() if r == "deferred") for load, reasons in verdict["oracle"].items()
    }
    assert case.expect_deferred == oracle  # the case file carries the oracle's expectation

    # minimized and exported by the run itself
    minimized = load_case(finding["minimized"])
    assert len(minimized.spec.graph) <= len(case.spec.graph)
    repro = subprocess.run([sys.executable, finding["repro"]], capture_output=True, text=True, timeout=300)
    assert repro.returncode == 1 and "REPRODUCES" in repro.stdout

    with_bug = fuzzpass("run", "--replay", str(out), "--mutant", "inverted-gate", "--seed", "3")
    fixed = fuzzpass("run", "--replay", str(out), "--seed", "3")
    assert with_bug.returncode == 1 and "1 still failing" in with_bug.stderr
    assert fixed.returncode == 0 and "0 still failing" in fixed.stderr


def test_a_hanging_case_is_recorded_as_timeout_and_the_run_goes_on(tmp_path: Path) -> None:
    # Every first case of a worker compiles for longer than 0.2 s: each worker is replaced.
    run = fuzzpass("run", "--budget", "15", "--jobs", "1", "--timeout", "0.2", "--seed", "1",
                   "--out", str(tmp_path), "--quiet")  # fmt: skip
    assert run.returncode == 1, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["timeouts"] >= 1 and summary["stopped"] == "time budget"
    assert summary["workers"][0]["incarnation"] >= 1
    timeouts = [f for f in summary["findings"] if f["kind"] == "timeout"]
    assert timeouts and all(f["rule"] == "worker" for f in timeouts)
    for finding in timeouts:
        load_case(finding["case"])


def _running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to an init that does not reap is not running)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def _workers_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"fuzzpass.core.workers.child" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_workers_do_not_outlive_their_run(tmp_path: Path) -> None:
    """SIGTERM ends a run as Ctrl-C does (summary written); a SIGKILLed run's workers exit."""
    cmd = [sys.executable, "-m", "fuzzpass", "run", "--budget", "120", "--jobs", "1", "--seed", "2", "--quiet"]
    for sig, out in ((signal.SIGTERM, tmp_path / "term"), (signal.SIGKILL, tmp_path / "kill")):
        with subprocess.Popen([*cmd, "--out", str(out)], stderr=subprocess.DEVNULL) as parent:
            deadline = time.monotonic() + 30
            while not (workers := _workers_of(parent.pid)) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert workers
            parent.send_signal(sig)
            parent.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(map(_running, workers)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_running, workers)), f"workers outlived a {sig.name}"
    assert json.loads((tmp_path / "term" / "summary.json").read_text())["stopped"] == "interrupted"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_a_killed_worker_is_replaced(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "fuzzpass", "run", "--budget", "25", "--jobs", "1", "--seed", "2",
           "--out", str(tmp_path), "--quiet"]  # fmt: skip
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as parent:
        deadline = time.monotonic() + 20
        while not (workers := _workers_of(parent.pid)) and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(6)  # past its start-up, into its cases
        os.kill(workers[0], signal.SIGKILL)
        parent.wait(timeout=120)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["worker_crashes"] == 1
    assert summary["workers"][0]["incarnation"] == 1
    assert summary["stopped"] == "time budget" and summary["cases"] > 0
    # the case it was checking is kept, one finding; none where the kill fell between two cases
    assert len(summary["findings"]) <= 1
    for finding in summary["findings"]:
        assert (
            finding["kind"] == "crash"
            and "SIGKILL" in json.loads(Path(finding["verdict_json"]).read_text())["findings"][0]["message"]
        )


def test_mutants_json_lists_each_with_the_four_keys() -> None:
    """A case budget, not a time budget: one worker and one seed draw the same cases on a
    loaded machine too (seed 2 kills both within 20 cases)."""
    run = fuzzpass("mutants", "--only", "through-reshape,nonzero-fill", "--budget", "200cases", "--jobs", "1",
                   "--seed", "2", "--json")  # fmt: skip
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)
    assert [r["mutant"] for r in rows] == ["through-reshape", "nonzero-fill"]
    for row in rows:
        assert row["killed"] is True and 0 < row["cases"] <= 200 and row["seconds"] > 0
        assert row["finding"].split(" | ")[0] in ("decision", "mismatch", "nonfinite-leak")


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["run", "--budget", "soon"], "--budget"),
        (["run", "--jobs", "0"], "--jobs"),
        (["run", "--policy", "chaos"], "--policy"),
        (["run", "--mutant", "typo"], "--mutant"),
        (["mutants", "--only", "typo"], "--only"),
        (["run", "--replay", "/nonexistent"], "--replay"),
    ],
)
def test_bad_run_options_exit_2_with_one_line(args: list[str], mentions: str) -> None:
    run = fuzzpass(*args)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and mentions in run.stderr


@pytest.mark.parametrize(
    ("text", "budget"),
    [("120", Budget(seconds=120)), ("90s", Budget(seconds=90)), ("10m", Budget(seconds=600)),
     ("2h", Budget(seconds=7200)), ("500cases", Budget(cases=500)), ("7c", Budget(cases=7))],
)  # fmt: skip
def test_budget_parses_seconds_or_cases(text: str, budget: Budget) -> None:
    assert Budget.parse(text) == budget


@pytest.mark.parametrize("text", ["", "0", "-5", "ten", "5x"])
def test_budget_rejects_nonsense(text: str) -> None:
    with pytest.raises(BudgetError):
        Budget.parse(text)


def test_cli_lists_every_mutant() -> None:
    assert tuple(MUTANTS) == MUTANT_NAMES


def test_same_seed_same_run(tmp_path: Path) -> None:
    """With a case budget, a seed fixes every worker's swarm subset and every case drawn."""
    summaries = []
    for name in ("a", "b"):
        out = tmp_path / name
        run = fuzzpass("run", "--budget", "12cases", "--jobs", "2", "--seed", "5", "--out", str(out), "--quiet")
        assert run.returncode == 0, run.stderr
        summaries.append(json.loads((out / "summary.json").read_text()))
    a, b = summaries
    for key in ("cases", "coverage", "verdicts", "workers", "eager_nonfinite"):
        assert a[key] == b[key], key


def test_a_tpu_aot_run_counts_every_case_on_every_generation(tmp_path: Path) -> None:
    run = fuzzpass("run", "--backend", "tpu-aot", "--tpu", "v5e,tpu7x", "--budget", "12cases", "--jobs", "1",
                   "--seed", "5", "--out", str(tmp_path), "--no-minimize", "--timeout", "300")  # fmt: skip
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert run.returncode == 0 and summary["findings"] == [], run.stderr  # the real pass: no finding
    compiles = summary["tpu_compile"]
    assert list(compiles) == ["v5e", "tpu7x"]
    assert summary["cases"] == 12 and summary["timeouts"] <= 1  # a loaded CI machine may lose one to the clock
    for row in compiles.values():  # every case that finished counted once per generation
        assert row["compiled"] + row["rejected"] + row["unsupported"] == summary["cases"] - summary["timeouts"]
        assert sum(row["messages"].values()) >= row["rejected"]
    assert "TPU compiles" in run.stderr and "eager variant leaked" not in run.stderr  # no numerics ran
    assert "tpu-compile" in summary["profile"] and "interpret" not in summary["profile"]


def test_one_case_is_kept_per_reason_mosaic_builds_no_variant(tmp_path: Path) -> None:
    from fuzzpass.fuzz.store import UnsupportedStore
    from fuzzpass.judge.checked import Checked

    def checked(message: str, case: str) -> Checked:
        finding = {"kind": "tpu-unsupported", "stage": "compile", "variant": None, "message": message}
        return Checked(case, "tpu-unsupported", None, {"verdict": "tpu-unsupported", "findings": [finding]}, 0.1)

    store = UnsupportedStore(tmp_path)
    store.add(checked("v5e: RESOURCE_EXHAUSTED: Used 29.12M of 16.00M vmem", '{"first": 1}'))
    store.add(checked("v6e: RESOURCE_EXHAUSTED: Used 31.50M of 16.00M vmem", '{"second": 2}'))
    store.add(checked("v5e: Unsupported 1D shape", '{"third": 3}'))
    vmem = "tpu-unsupported: RESOURCE_EXHAUSTED: Used #.#M of #.#M vmem"
    assert list(store.examples) == [vmem, "tpu-unsupported: Unsupported #D shape"]
    first = store.examples[vmem]
    assert first.read_text() == '{"first": 1}\n' and first.with_name("verdict.json").is_file()
    assert len(list((tmp_path / "unsupported").glob("*/case.json"))) == 2
    again = UnsupportedStore(tmp_path)  # a later run under the same --out keeps the first example
    again.add(checked("v5e: RESOURCE_EXHAUSTED: Used 1.00M of 16.00M vmem", '{"later": 4}'))
    assert again.examples[vmem].read_text() == '{"first": 1}\n'
