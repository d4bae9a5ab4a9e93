"""``--helion-baseline``: Helion against another Helion. What the baseline gets right and the
Helion under test wrong is a ``helion-regression`` naming both; what the baseline got wrong is
fixed: counted, never a finding. The second Helion is the project's own (``conftest``: the
installed one with its pass made to defer nothing), so nothing here needs a release."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from fuzzpass.judge.helion_baseline import compare
from fuzzpass.judge.signature import rule
from tests.conftest import EXAMPLES

DENSE_KV = EXAMPLES / "dense-kv-q-transpose-dot.json"
"""Its load ``x`` is deferred by the pass: a Helion that lost the pass keeps its eager mask."""


def finding(kind: str, variant: str, message: str, stage: str = "compile") -> dict[str, Any]:
    return {"kind": kind, "stage": stage, "variant": variant, "message": message}


def report(*findings: dict[str, Any], verdict: str | None = None) -> dict[str, Any]:
    kinds = [f["kind"] for f in findings]
    return {"verdict": verdict or (kinds[0] if kinds else "pass"), "findings": list(findings), "helion": {}}


CRASH = finding("helion-crash", "helion-on", "AssertionError: sympy expression is NaN")


def test_a_failure_the_baseline_has_not_is_a_regression_naming_both() -> None:
    ours = report(CRASH)
    compare(ours, report(), "1.5.1", "1.5.0")
    assert ours["verdict"] == "helion-regression"
    regression = ours["findings"][-1]
    assert regression["message"] == "helion-crash, right in 1.5.0, wrong in 1.5.1: " + CRASH["message"]
    assert ours["helion_baseline"]["regressed"] == [CRASH] and ours["helion_baseline"]["fixed"] == []
    assert (
        rule(ours)
        == "helion-crash: compile/helion-on: AssertionError: sympy expression is NaN; right in 1.5.0, wrong in 1.5.1"
    )


def test_a_failure_both_have_stays_what_it_is() -> None:
    ours = report(CRASH)
    compare(ours, report(dict(CRASH, message="AssertionError: sympy expression is NaN (other)")), "b", "a")
    assert ours["verdict"] == "helion-crash" and ours["helion_baseline"]["regressed"] == []


def test_a_failure_only_the_baseline_has_is_fixed_and_no_finding() -> None:
    ours = report()
    mismatch = finding("helion-mismatch", "helion-off", "Helion with its pass off: 3 values beyond tolerance", "verify")
    compare(ours, report(mismatch), "1.5.1", "1.5.0")
    assert ours["verdict"] == "pass" and ours["findings"] == []
    assert ours["helion_baseline"]["fixed"] == [mismatch]


def test_a_compile_rejection_is_the_same_only_on_the_same_generation() -> None:
    v5e = finding("helion-compile", "helion-on", "v5e: Mosaic rejected the pass-on kernel: x")
    v6e = dict(v5e, message="v6e: Mosaic rejected the pass-on kernel: x")
    ours = report(v5e)
    compare(ours, report(v6e), "b", "a")
    assert ours["verdict"] == "helion-regression"
    assert [f["message"] for f in ours["helion_baseline"]["fixed"]] == [v6e["message"]]


def test_a_baseline_that_could_not_check_blames_nothing() -> None:
    ours = report(CRASH)
    compare(ours, "the baseline Helion 1.5.0 died checking it", "1.5.1", "1.5.0")
    assert ours["verdict"] == "helion-crash"
    assert ours["helion_baseline"]["verdict"] == "not run: the baseline Helion 1.5.0 died checking it"


def check(case: Path, *options: str) -> tuple[int, dict[str, Any]]:
    command = [sys.executable, "-m", "fuzzpass", "check", str(case), "--backend", "helion", "--tpu", "none", "--json"]
    done = subprocess.run([*command, *options], capture_output=True, text=True, timeout=600)
    return done.returncode, json.loads(done.stdout)


def test_a_helion_that_lost_the_pass_regresses_against_the_installed_one(lost_deferral_helion: Path) -> None:
    code, got = check(DENSE_KV, "--helion", str(lost_deferral_helion), "--helion-baseline", "installed")
    assert code == 1 and got["verdict"] == "helion-regression", got["findings"]
    assert got["helion"]["deferred"]["x"] == [] and got["helion_baseline"]["deferred"]["x"] == ["t0"]
    (regression,) = [f for f in got["findings"] if f["kind"] == "helion-regression"]
    assert regression["message"].startswith("helion-decision, right in 1.5.1, wrong in 1.5.1 with --helion-patch")
    assert "x: Helion defers [], the reference ['t0']" in regression["message"]


def test_the_same_two_the_other_way_round_is_a_fix_and_passes(lost_deferral_helion: Path) -> None:
    code, got = check(DENSE_KV, "--helion-baseline", str(lost_deferral_helion))
    assert code == 0 and got["verdict"] == "pass", got["findings"]
    assert [f["kind"] for f in got["helion_baseline"]["fixed"]] == ["helion-decision"]


def test_a_regression_exported_reproduces_on_the_helion_named_and_not_on_the_baseline(
    lost_deferral_helion: Path, tmp_path: Path
) -> None:
    """The finding records both Helions: ``export`` (run with neither given) imports the one
    it was found on, and the repro exits 1 there and 0 on the baseline."""
    import os
    import shutil

    shutil.copy(DENSE_KV, tmp_path / "case.json")
    _, got = check(DENSE_KV, "--helion", str(lost_deferral_helion), "--helion-baseline", "installed")
    (tmp_path / "verdict.json").write_text(json.dumps(got))
    from fuzzpass.repro.finding import open_finding

    opened = open_finding(tmp_path / "case.json")
    assert opened.helion is not None and opened.helion.root == lost_deferral_helion
    assert opened.config.baseline is not None and opened.config.baseline.root is None  # the installed one
    command = [sys.executable, "-m", "fuzzpass", "export", str(tmp_path / "case.json"), "-o", str(tmp_path / "r.py")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    lost = subprocess.run(
        [sys.executable, str(tmp_path / "r.py")],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(lost_deferral_helion)},
        timeout=600,
    )
    assert lost.returncode == 1 and "REPRODUCED: Helion's pass and the reference part on x" in lost.stdout
    assert f"from {lost_deferral_helion / 'helion'}" in lost.stdout
    installed = subprocess.run([sys.executable, str(tmp_path / "r.py")], capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stdout[-400:]
