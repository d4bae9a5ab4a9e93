"""``fuzzpass propose`` and ``--helion-patch``: the candidate as a diff of the installed Helion's
``node_masking.py``, and Helion run with that diff applied deciding as the candidate does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from candidates.rank_changing_relayouts import RankChangingRelayouts
from fuzzpass.backends import helion_patch
from fuzzpass.cli import main
from fuzzpass.core.case import Case
from tests.candidates.test_rank_changing_relayouts import FILE, SQUEEZE, UNSQUEEZE

CANDIDATE = f"{FILE}:RankChangingRelayouts"


@pytest.fixture(scope="module")
def patch_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("propose") / "node_masking.patch"
    assert main(["propose", CANDIDATE, "-o", str(out)]) == 0
    return out


def test_the_patch_is_the_candidates_edits_and_applies_to_the_installed_helion(patch_file: Path) -> None:
    diff = patch_file.read_text()
    assert diff.startswith(f"--- a/{helion_patch.TARGET}\n+++ b/{helion_patch.TARGET}\n")
    assert "+        torch.ops.aten.squeeze.dim,\n" in diff and "+        torch.ops.aten.unsqueeze.default,\n" in diff
    installed = (helion_patch.installed_root() / helion_patch.TARGET).read_text()
    after = helion_patch.apply_patch(diff, installed)
    for old, new in RankChangingRelayouts.helion_edits:
        assert old not in after or old in new
        assert new in after


def test_an_edit_this_helion_does_not_have_is_named(tmp_path: Path) -> None:
    edits = (*RankChangingRelayouts.helion_edits, ("def a_function_helion_never_had(", "x"))
    expected = rf"helion_edits\[{len(edits) - 1}\]: 'def a_function_helion_never_had\(' occurs 0"
    with pytest.raises(helion_patch.PatchError, match=expected):
        helion_patch.make_patch(edits)


def test_a_candidate_without_a_helion_form_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "plain.py"
    f.write_text("from reference.defer import MaskDeferral\n\n\nclass Plain(MaskDeferral):\n    pass\n")
    assert main(["propose", f"{f}:Plain", "-o", str(tmp_path / "x.patch")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "has no helion_edits" in err


def test_a_patch_that_does_not_apply_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.patch"
    bad.write_text(
        f"--- a/{helion_patch.TARGET}\n+++ b/{helion_patch.TARGET}\n@@ -1,1 +1,1 @@\n-not the first line\n+x\n"
    )
    code = main(["run", "--backend", "helion", "--helion-patch", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and err[-1].startswith("fuzzpass: error: --helion-patch: it does not apply")
    assert main(["run", "--helion-patch", str(bad), "--out", str(tmp_path / "o")]) == 2  # interpret: refused


@pytest.mark.parametrize("s", [SQUEEZE, UNSQUEEZE], ids=["squeeze", "unsqueeze"])
def test_patched_helion_decides_as_the_candidate_and_its_kernel_stops_the_leak(
    s: object, patch_file: Path, tmp_path: Path
) -> None:
    helion_patch_dir = tmp_path / "helion"
    env = dict(os.environ)
    code = (
        "import sys; from pathlib import Path; from fuzzpass.backends import helion_patch; "
        f"helion_patch.patched_copy(Path({str(patch_file)!r}), Path({str(helion_patch_dir)!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    case_file = tmp_path / "case.json"
    case_file.write_text(Case(name="candidate", seed=3, spec=s, expect_deferred=None).dumps())  # type: ignore[arg-type]
    cmd = [sys.executable, "-m", "fuzzpass", "check", str(case_file), "--backend", "helion", "--pass", CANDIDATE]
    cmd += ["--helion", str(helion_patch_dir)]  # the copy says what it is: ``... with --helion-patch``
    done = subprocess.run([*cmd, "--json", "--tpu", "none"], capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(done.stdout)
    assert done.returncode == 0, report["findings"]
    assert "--helion-patch" in report["helion"]["versions"]["helion"]
    assert report["helion"]["deferred"] == {"x": ["t0"]}
    assert report["helion"]["comparisons"]["on"]["nonfinite"] is False
    assert report["helion"]["comparisons"]["off"]["nonfinite"] is True


def test_run_with_helion_patch_runs_every_worker_on_the_patched_copy(
    lost_deferral_helion: Path, tmp_path: Path
) -> None:
    """``fuzzpass run --helion-patch``: the copy is made under OUT and every worker imports it
    (its pass defers nothing there, so a case the reference defers is a ``helion-decision``)."""
    patch = lost_deferral_helion.parent / "lost.patch"
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fuzzpass", "run", "--backend", "helion", "--helion-patch", str(patch)]
    cmd += ["--policy", "deferrable", "--budget", "8cases", "--jobs", "1", "--seed", "3", "--tpu", "none"]
    done = subprocess.run([*cmd, "--no-minimize", "--out", str(out)], capture_output=True, text=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    assert (out / "helion-patched" / helion_patch.TARGET).is_file()
    assert "with --helion-patch (sha256 " in summary["versions"]["helion"]
    assert summary["cases"] == 8 and done.returncode == 1, done.stderr
    assert {f["kind"] for f in summary["findings"]} == {"helion-decision"}
    assert all("Helion keeps where the reference defers" in f["rule"] for f in summary["findings"])
