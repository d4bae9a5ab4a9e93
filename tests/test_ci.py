"""The workflows in ``ci/`` are valid GitHub workflows, and the script they run works here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "ci"
WORKFLOWS = sorted(CI.glob("*.yml"))


def test_there_are_two_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["nightly-tpu.yml", "pull-request.yml"]


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_schema(workflow: Path) -> None:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent)) or "check-jsonschema"
    run = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", str(workflow)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_fuzz_script_runs_on_the_cpu(tmp_path: Path) -> None:
    """What the nightly runs on a TPU host, here with the interpret backend and a short budget."""
    env = dict(os.environ, FUZZPASS_SEED="11", PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    run = subprocess.run(
        ["bash", str(CI / "fuzz.sh"), "interpret", "15s", str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 11 and summary["backend"] == "interpret" and summary["cases"] > 0
    assert summary["findings"] == []


def test_the_fuzz_script_against_helions_main_bisects_its_regression(tmp_path: Path) -> None:
    """The nightly against Helion's main, on a repository made here: its main has a commit
    that breaks the pass (it raises), the installed Helion is the baseline. The run finds the
    regression, bisects it to that commit, and the morning report leads with it."""
    from fuzzpass.backends import helion_patch

    origin = tmp_path / "origin"
    shutil.copytree(helion_patch.installed_root() / "helion", origin / "helion", ignore=shutil.ignore_patterns("*.pyc"))
    git = ["git", "-C", str(origin), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "the release"], check=True)
    subprocess.run([*git, "tag", "good"], check=True)
    node_masking = origin / helion_patch.TARGET
    head = "def defer_pallas_load_masks(graph: torch.fx.Graph) -> None:\n"
    node_masking.write_text(node_masking.read_text().replace(head, head + "    raise AssertionError('main broke')\n"))
    subprocess.run([*git, "commit", "-qam", "break the pass"], check=True)
    broke = subprocess.run([*git, "rev-parse", "--short=10", "HEAD"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, FUZZPASS_SEED="3", FUZZPASS_HELION_URL=str(origin), FUZZPASS_HELION_BASELINE="installed")
    env.update(FUZZPASS_HELION_GOOD="good", FUZZPASS_TPU="none", FUZZPASS_MINIMIZE_SECONDS="20")
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    out = tmp_path / "out"
    command = ["bash", str(CI / "fuzz.sh"), "helion-main", "6cases", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 1, run.stderr
    (finding,) = json.loads((out / "summary.json").read_text())["findings"]
    assert finding["kind"] == "helion-regression" and "AssertionError: main broke" in finding["rule"]
    bisected = json.loads((Path(finding["case"]).parent / "bisect" / "bisect.json").read_text())
    assert bisected["boundary"][1] == broke and bisected["answer"].endswith("(bad): break the pass")
    page = (out / "report.html").read_text()
    assert "bisected: helion-crash (helion-on) broke between" in page


def test_the_corpus_script_runs_on_a_helion_checkout(tmp_path: Path) -> None:
    """The nightly's Helion step, on a checkout laid out as Helion's (its three test files and
    its examples, here the project's own small kernel files, the worklist one TPU-only):
    every path is run, Helion's finding exits 1, and seeds land in the corpus."""
    corpus = ROOT / "tests" / "kernels" / "corpus"
    src = tmp_path / "helion"
    (src / "test").mkdir(parents=True)
    (src / "examples").mkdir()
    shutil.copy(corpus / "head_sum.py", src / "test" / "test_pallas.py")
    shutil.copy(
        ROOT / "tests" / "kernels" / "tpu_only" / "worklist_attention.py", src / "test" / "test_pallas_worklist.py"
    )
    shutil.copy(corpus / "keeps_eager.py", src / "test" / "test_examples.py")
    shutil.copy(corpus / "proj_example.py", src / "examples" / "proj_example.py")
    (src / "pyproject.toml").write_text("")  # the checkout's root, as Helion's
    (src / "helion").mkdir()  # its own helion package: fuzzpass judges the installed Helion, never this one
    (src / "helion" / "__init__.py").write_text("raise ImportError('the checkout shadowed the installed helion')\n")
    env = dict(os.environ, HELION_SRC=str(src), FUZZPASS_CORPUS_JOBS="1")
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    out, seeds = tmp_path / "out", tmp_path / "corpus"
    run = subprocess.run(["bash", str(CI / "corpus.sh"), str(out), str(seeds)], capture_output=True, text=True, env=env)
    assert run.returncode == 1, run.stderr  # v5e rejects Helion's eager worklist kernel, not its deferred one
    corpus_summary = json.loads((out / "summary.json").read_text())["corpus"]
    (finding,) = corpus_summary["findings"]
    assert (finding["kind"], finding["kernel"]) == ("helion-compile", "dense_kv_attention")
    kernels = corpus_summary["kernels"]
    assert kernels["fired"] == 4 and kernels["numerics_agree"] == 4  # dense_kv_attention twice: run, and code read
    assert kernels["compile"]["tpu7x"] == {"compiled": 4}  # where the pass fired
    seeds_added = sorted(p.name for p in (seeds / "seeds").iterdir())
    assert seeds_added == ["dense_kv_attention.json", "jagged_head_sum.json", "jagged_proj.json"]
