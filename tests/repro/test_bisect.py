"""``fuzzpass bisect``: the release or commit where a Helion finding appeared or went away.
The Helions are the project's own: copies of the installed one, with and without the edit
that loses the pass (``conftest.LOST_DEFERRAL``), as cached releases and as commits of a git
history made here. Nothing needs the network or Helion's repository."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import helion_patch
from fuzzpass.cli import main
from fuzzpass.repro.bisect import Step, Target, regression_range, search, state_of
from tests.conftest import EXAMPLES, LOST_DEFERRAL

LOST = {
    "kind": "helion-regression",
    "stage": "decide",
    "variant": "helion-on",
    "message": "helion-decision, right in 1.5.1, wrong in 1.6.0: x: Helion defers [], the reference ['t0']",
}


def searched(states: list[str]) -> tuple[tuple[int, int] | str, list[str]]:
    """What :func:`search` finds over steps with these states, and the steps it ran."""
    steps = [Step(str(i)) for i in range(len(states))]
    ran: list[str] = []

    def run(step: Step) -> None:
        ran.append(step.name)
        step.state = states[int(step.name)]

    return search(steps, run), ran


def test_search_finds_the_change_in_few_steps() -> None:
    found, ran = searched(["good"] * 40 + ["bad"] * 24)
    assert found == (39, 40) and len(ran) <= 2 + 7


def test_search_finds_a_fix_as_well() -> None:
    assert searched(["bad", "bad", "good", "good"])[0] == (1, 2)


def test_search_moves_an_end_that_cannot_be_judged_inward() -> None:
    found, ran = searched(["skip", "skip", "good", "good", "bad", "skip"])
    assert found == (3, 4) and ran[:4] == ["5", "4", "0", "1"]


def test_search_steps_around_a_skip_and_says_the_range_it_leaves() -> None:
    found, ran = searched(["good", "good", "skip", "skip", "bad", "bad"])
    assert found == (1, 4) and {"2", "3"} <= set(ran)


@pytest.mark.parametrize(
    ("states", "said"),
    [(["bad", "good", "bad"], "0 and 2 are both bad: no change"), (["skip", "good"], "fewer than two steps")],
)
def test_search_without_a_change_says_why(states: list[str], said: str) -> None:
    found, _ = searched(states)
    assert isinstance(found, str) and said in found


def test_a_step_is_bad_only_for_the_same_failure() -> None:
    target = Target.of(LOST)
    assert target.kind == "helion-decision" and target.message.startswith("x: Helion defers []")
    decision = {k: v for k, v in LOST.items()} | {"kind": "helion-decision"}
    assert state_of({"verdict": "helion-decision", "findings": [decision], "helion": {}}, target)[0] == "bad"
    assert state_of({"verdict": "pass", "findings": [], "helion": {"deferred": {}}}, target)[0] == "good"
    crash = {"kind": "helion-crash", "stage": "compile", "variant": "helion-on", "message": "KeyError: 3"}
    assert state_of({"verdict": "helion-crash", "findings": [crash], "helion": {}}, target)[0] == "skip"
    assert state_of({"verdict": "invalid", "findings": [], "error": "no Helion"}, target) == ("skip", "no Helion")
    assert state_of(None, target)[0] == "skip"


def test_the_range_of_a_regression_is_its_two_releases() -> None:
    assert regression_range(LOST) == "1.5.1..1.6.0"
    flipped = dict(LOST, message="helion-mismatch, right in 1.5.1, wrong in 1.5.0: x")
    assert regression_range(flipped) == "1.5.0..1.5.1"
    assert regression_range(dict(LOST, kind="helion-decision")) is None


def test_bisect_refuses_a_case_that_is_no_finding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = tmp_path / "case.json"
    shutil.copy(EXAMPLES / "dense-kv-q-transpose-dot.json", case)
    assert main(["bisect", str(case), "--releases", "1.5.0,1.5.1"]) == 2
    assert capsys.readouterr().err.strip().startswith(f"fuzzpass: error: {tmp_path / 'verdict.json'}: not a finding")


@pytest.fixture(scope="module")
def lost_finding(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The dense-KV case as a finding of a Helion that lost the pass (its verdict.json)."""
    where = tmp_path_factory.mktemp("finding")
    shutil.copy(EXAMPLES / "dense-kv-q-transpose-dot.json", where / "case.json")
    (where / "verdict.json").write_text(json.dumps({"verdict": "helion-regression", "findings": [LOST]}))
    return where / "case.json"


def helion_tree(where: Path, lost: bool) -> Path:
    """A copy of the installed Helion under ``where`` (with the pass lost, if ``lost``)."""
    shutil.copytree(helion_patch.installed_root() / "helion", where / "helion", ignore=shutil.ignore_patterns("*.pyc"))
    if lost:
        path = where / helion_patch.TARGET
        ((old, new),) = LOST_DEFERRAL
        path.write_text(path.read_text().replace(old, new))
    return where


def test_bisect_over_releases_names_the_first_that_lost_the_pass(
    lost_finding: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FUZZPASS_CACHE", str(tmp_path / "cache"))
    for version, lost in (("9.0.0", False), ("9.1.0", False), ("9.2.0", True)):
        helion_tree(tmp_path / "cache" / "helion" / version, lost)
    out = tmp_path / "bisect"
    code = main(["bisect", str(lost_finding), "--releases", "9.0.0,9.1.0,9.2.0", "--log-dir", str(out)])
    assert code == 0
    assert capsys.readouterr().out.strip() == "helion-decision (helion-on) broke between 9.1.0 (good) and 9.2.0 (bad)"
    logged = [json.loads(line) for line in (out / "bisect.log").read_text().splitlines()]
    assert {s["name"]: s["state"] for s in logged} == {"9.0.0": "good", "9.1.0": "good", "9.2.0": "bad"}
    assert json.loads((out / "bisect.json").read_text())["boundary"] == ["9.1.0", "9.2.0"]


def test_bisect_over_a_checkouts_commits_names_the_commit(lost_finding: Path, tmp_path: Path) -> None:
    repo = helion_tree(tmp_path / "repo", lost=False)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)

    def commit(message: str) -> str:
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", message], check=True)
        return subprocess.run([*git, "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True).stdout.strip()

    first = commit("the pass")
    (repo / "NOTES").write_text("unrelated\n")
    commit("notes")
    (repo / "helion" / "__init__.py").write_text("import broken_beyond_import  # noqa\n")
    unimportable = commit("a commit that cannot be imported")
    (repo / "helion" / "__init__.py").write_text((helion_patch.installed_root() / "helion" / "__init__.py").read_text())
    helion_tree(tmp_path / "lost", lost=True)
    shutil.copy(tmp_path / "lost" / helion_patch.TARGET, repo / helion_patch.TARGET)
    culprit = commit("lose the pass")
    (repo / "NOTES").write_text("more\n")
    commit("more notes")
    out = tmp_path / "bisect"
    command = [sys.executable, "-m", "fuzzpass", "bisect", str(lost_finding), "--helion-repo", str(repo)]
    done = subprocess.run(
        [*command, "--good", first, "--log-dir", str(out)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    result = json.loads((out / "bisect.json").read_text())
    assert result["boundary"][1] == culprit, result
    # the commit that cannot be imported lies between the last good one and the culprit: named, as git bisect does
    assert result["answer"].endswith(f"and {culprit} (bad): lose the pass, 1 skipped steps between them")
    assert result["skipped"] == [unimportable]
    assert subprocess.run([*git, "worktree", "list"], capture_output=True, text=True).stdout.count("\n") == 1
