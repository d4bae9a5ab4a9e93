"""``--helion DIR|VERSION``: which Helion the helion backend imports, named in one line when
it names none, and never the installed one changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fuzzpass.backends import helion_patch, helions
from fuzzpass.backends.helions import Helion, HelionError
from fuzzpass.cli import main


def test_a_directory_without_helion_is_refused_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(HelionError, match=r"^--helion .*: no helion/__init__.py in it"):
        helions.resolve(str(tmp_path))
    with pytest.raises(HelionError, match=r"^--helion-baseline main: neither a directory nor a release"):
        helions.resolve("main", "--helion-baseline")


def test_a_release_in_the_cache_is_used_without_pip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUZZPASS_CACHE", str(tmp_path))
    (tmp_path / "helion" / "9.9.9" / "helion").mkdir(parents=True)
    (tmp_path / "helion" / "9.9.9" / "helion" / "__init__.py").write_text("")
    found = helions.resolve("9.9.9")
    assert found == Helion(tmp_path / "helion" / "9.9.9", "9.9.9")
    assert found.env() == {helions.ENV: str(found.root), helions.LABEL_ENV: "9.9.9"}


def test_what_a_directory_is_called(tmp_path: Path) -> None:
    (tmp_path / "helion").mkdir()
    (tmp_path / "helion" / "__init__.py").write_text("")
    assert helions.resolve(str(tmp_path)).label == tmp_path.name  # nothing says more
    (tmp_path / "helion-1.5.0.dist-info").mkdir()
    assert helions.version_of(tmp_path) == "1.5.0"  # a pip --target tree
    (tmp_path / helions.LABEL_FILE).write_text("1.5.1 with --helion-patch (sha256 abc)\n")
    assert helions.version_of(tmp_path) == "1.5.1 with --helion-patch (sha256 abc)"  # a copy fuzzpass made


def test_a_checkout_is_called_by_git_describe(tmp_path: Path) -> None:
    import subprocess

    shutil.copytree(
        helion_patch.installed_root() / "helion", tmp_path / "helion", ignore=shutil.ignore_patterns("*.pyc")
    )
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "c"], check=True)
    subprocess.run([*git, "tag", "v9.0.0"], check=True)
    assert helions.version_of(tmp_path) == "v9.0.0"


def test_the_patched_copy_is_the_helion_the_report_names(lost_deferral_helion: Path) -> None:
    label = helions.version_of(lost_deferral_helion)
    assert label.startswith(helions.installed().label + " with --helion-patch (sha256 ")
    assert "return  # a release that lost the pass" in (lost_deferral_helion / helion_patch.TARGET).read_text()


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["--helion", "/no/such/dir"],
            "--helion /no/such/dir: neither a directory nor a release version such as 1.5.0",
        ),
        (["--backend", "interpret", "--helion", "1.5.0"], "--helion: only with --backend helion"),
        (["--backend", "interpret", "--helion-baseline", "1.5.0"], "--helion-baseline: only with --backend helion"),
    ],
)
def test_run_refuses_a_helion_it_cannot_use_in_one_line(
    argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", *(["--backend", "helion"] if "--backend" not in argv else []), *argv, "--out", str(tmp_path)]
    assert main(argv) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == f"fuzzpass: error: {said}"


def test_a_helion_from_before_the_pass_keeps_every_eager_mask(tmp_path: Path) -> None:
    """A Helion without ``defer_pallas_load_masks`` (before PR #2812, where a bisection over
    commits meets one) is judged, not skipped: it keeps every load's eager mask, and where the
    reference defers that is its ``helion-decision``."""
    import json
    import subprocess
    import sys

    from tests.conftest import EXAMPLES

    shutil.copytree(
        helion_patch.installed_root() / "helion", tmp_path / "helion", ignore=shutil.ignore_patterns("*.pyc")
    )
    device_ir = tmp_path / "helion" / "_compiler" / "device_ir.py"
    text = device_ir.read_text()
    text = text.replace("from .node_masking import defer_pallas_load_masks\n", "")
    text = text.replace("defer_pallas_load_masks(graph.graph)", "pass")
    assert "defer_pallas_load_masks" not in text  # else this Helion moved: the test must follow it
    device_ir.write_text(text)
    case = str(EXAMPLES / "dense-kv-q-transpose-dot.json")
    command = [sys.executable, "-m", "fuzzpass", "check", case, "--backend", "helion", "--tpu", "none", "--json"]
    done = subprocess.run([*command, "--helion", str(tmp_path)], capture_output=True, text=True, timeout=600)
    report = json.loads(done.stdout)
    assert report["helion"]["pass"] == "absent: this Helion has no defer_pallas_load_masks"
    assert report["verdict"] == "helion-decision" and report["helion"]["deferred"]["x"] == []
    assert "comparisons" in report["helion"]  # its kernels ran, and their numbers were judged
