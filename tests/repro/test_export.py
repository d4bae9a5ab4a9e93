"""``fuzzpass export``: a standalone repro that fails while the bug is there, and a pytest form."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from fuzzpass.core.case import Case
from fuzzpass.judge.checked import Config
from fuzzpass.repro.export import write_pytest, write_repro
from reference.compile import compile_variant
from tests.specs import node, reverse_direction, spec


def drop_remask_case() -> Case:
    s = spec(
        {"q": ("t0", 2, 8)},
        node("load", "x", src="q"),
        node("permute", "p", arg="x", dims=[1, 2, 0]),
        node("sum", "r", arg="p", axis=2),
        node("store", arg="r", dst="out"),
        block=8,
        lengths=(5, 3),
        dtype="float32",
    )
    return Case("repro", 2, s, {"x": ("t0",)})


def slow_direction() -> Case:
    return Case("slow", 1, reverse_direction(), {"x": ()})


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


def test_repro_fails_while_the_bug_is_there_and_passes_once_fixed(tmp_path: Path) -> None:
    case = drop_remask_case()
    repro = write_repro(case, Config(mutant="drop-remask", poison="finite"), tmp_path / "repro.py", "test")
    broken = run_script(repro)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "REPRODUCES" in broken.stdout and "expected" in broken.stdout  # the element, expected and actual
    assert "TPU" not in broken.stderr  # libtpu, never needed in interpret mode, is not started to say so
    # "Fix the pass": the deferred kernel the real pass generates, in place of the mutant's.
    text = repro.read_text()
    bad = text.split("DEFERRED = r'''")[1].split("'''")[0]
    good = compile_variant(case.spec, "on", title="fixed").source.text
    fixed = tmp_path / "fixed.py"
    fixed.write_text(text.replace(bad, good))
    assert run_script(fixed).returncode == 0


def test_decision_repro_names_the_load(tmp_path: Path) -> None:
    repro = write_repro(slow_direction(), Config(mutant="inverted-gate", poison="zero"), tmp_path / "r.py", "test")
    run = run_script(repro)
    assert run.returncode == 1
    assert "drops the eager mask of x for ['t0']; the rules say []" in run.stdout


def test_repro_imports_only_jax_numpy_and_the_standard_library(tmp_path: Path) -> None:
    repro = write_repro(drop_remask_case(), Config(mutant="drop-remask", poison="nan"), tmp_path / "r.py", "cmd")
    text = repro.read_text()
    modules = set()
    for tree in [ast.parse(text), *(ast.parse(src) for src in (text.split("EAGER = r'''")[1].split("'''")[0],))]:
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                modules |= {a.name.split(".")[0] for a in n.names}
            elif isinstance(n, ast.ImportFrom) and n.module:
                modules.add(n.module.split(".")[0])
    assert modules <= {"argparse", "base64", "io", "json", "os", "pathlib", "re", "sys", "tempfile", "numpy", "jax"}
    assert "jax " in text and "Made by: cmd" in text  # versions and the command in the header


def test_pytest_export_runs_as_a_regression_test(tmp_path: Path) -> None:
    path = write_pytest(drop_remask_case(), Config(mutant="drop-remask", poison="finite"), tmp_path)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)  # fmt: skip
    assert run.returncode == 0, run.stdout
    assert "2 passed" in run.stdout  # the real pass holds; the mutant is still killed
