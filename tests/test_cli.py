"""The command as a user runs it: exit codes, one-line errors, JSON, sources."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import CONTRACT_CASES

DENSE_KV = next(p for p in CONTRACT_CASES if p.stem == "dense-kv-q-transpose-dot")


def fuzzpass(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "fuzzpass", *args], capture_output=True, text=True, timeout=300)


def test_check_json_reports_decisions_and_both_variants() -> None:
    run = fuzzpass("check", str(DENSE_KV), "--json", "--backend", "interpret", "--poison", "zero")
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["verdict"] == "pass"
    assert out["deferred"] == {"x": ["t0"], "kt": []}
    for variant in ("eager", "deferred"):
        assert set(out["variants"][variant]) >= {"max_abs_err", "max_rel_err", "nonfinite"}
    assert out["backends"] == {"interpret": "ran"}


def test_show_source_prints_before_and_after() -> None:
    run = fuzzpass("check", str(DENSE_KV), "--backend", "interpret", "--show-source")
    assert run.returncode == 0, run.stderr
    assert "# ---- eager ----" in run.stdout and "# ---- deferred ----" in run.stdout
    assert "xt_masked = jnp.where(mask_t0[None, :, None] != 0, xt, 0)" in run.stdout


def test_invalid_case_exits_2_with_one_line_naming_the_field(tmp_path: Path) -> None:
    data = json.loads(DENSE_KV.read_text())
    data["graph"][1]["dims"] = [1, 1, 2]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    run = fuzzpass("check", str(bad))
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().count("\n") == 0
    assert "graph[1].dims" in run.stderr


def test_invalid_case_with_json_says_invalid_on_stdout_and_why_on_stderr(tmp_path: Path) -> None:
    data = json.loads(DENSE_KV.read_text())
    data["graph"][1]["dims"] = [1, 1, 2]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    run = fuzzpass("check", str(bad), "--json")
    assert run.returncode == 2
    out = json.loads(run.stdout)
    assert out["verdict"] == "invalid" and "graph[1].dims" in out["error"]
    assert run.stderr.strip().count("\n") == 0 and "graph[1].dims" in run.stderr


def test_run_without_swarm_and_with_profile(tmp_path: Path) -> None:
    """``--no-swarm``: every worker draws every op kind; ``--profile``: where the time went."""
    run = fuzzpass(
        "run", "--budget", "6cases", "--jobs", "2", "--seed", "3", "--no-swarm", "--profile", "--quiet",
        "--no-minimize", "--out", str(tmp_path),
    )  # fmt: skip
    assert run.returncode == 0, run.stderr  # the real pass: no finding
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cases"] == 6 and [w["disabled"] for w in summary["workers"]] == [[], []]
    assert "stage" in run.stderr and "ms/case" in run.stderr and "interpret" in run.stderr


def test_wrong_expectation_exits_1(tmp_path: Path) -> None:
    data = json.loads(DENSE_KV.read_text())
    data["expect"]["deferred"]["x"] = []
    case = tmp_path / "expects-eager.json"
    case.write_text(json.dumps(data))
    run = fuzzpass("check", str(case), "--json", "--backend", "interpret")
    assert run.returncode == 1
    assert json.loads(run.stdout)["verdict"] == "decision"


def test_bad_option_exits_2_with_one_line() -> None:
    run = fuzzpass("check", str(DENSE_KV), "--poison", "lava")
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "--poison" in run.stderr
