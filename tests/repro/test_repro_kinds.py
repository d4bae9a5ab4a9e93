"""Every kind of the reference's findings exports a repro that exits 1 while the bug is there
and 0 once it is gone: each mutant's killing case (``tests/regressions``) exported under its
mutant, then its DEFERRED kernel replaced by the real pass's ("fix the pass"); ``compile``
and ``baseline-mismatch`` below. The gate audit's variants: ``tests/judge/test_audited.py``;
``gate``: ``tests/perf/test_gate.py``; Helion's kinds: ``tests/judge/test_helion.py`` and
``tests/judge/test_helion_gate.py``."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.core.case import Case, load_case
from fuzzpass.judge.checked import Config
from fuzzpass.repro.export import write_repro
from reference.compile import compile_variant

REGRESSIONS = Path(__file__).resolve().parents[1] / "regressions"

KILLS = {
    "consumers-missing-one": "undischarged",
    "partner-without-exception": "undischarged",
    "drop-remask": "mismatch",
    "no-broadcast-rule": "nonfinite-leak",
    "ignore-second-use": "decision",
    "wrong-axis": "crash",
}
"""A mutant per kind of finding, with the kind its killing case gives."""


def killing_case(mutant: str) -> tuple[Case, str]:
    module = importlib.import_module(f"tests.regressions.test_minimized_{mutant.replace('-', '_')}_finding")
    source = Path(module.__file__).read_text()  # type: ignore[arg-type]
    poison = "finite" if '"finite",' in source else "zero" if '"zero",' in source else "nan"
    return module.CASE, poison


def run_script(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=300)


def assert_fails_until_fixed(repro: Path, kind: str, name: str, kernel: str) -> str:
    """``repro`` (a finding of ``kind``) exits 1 with REPRODUCES, and 0 once its ``name`` kernel
    (EAGER or DEFERRED) is replaced by ``kernel`` ("fix the pass"); its first run's output."""
    text = repro.read_text()
    assert f'"kind": "{kind}"' in text
    broken = run_script(repro)
    assert broken.returncode == 1 and "REPRODUCES" in broken.stdout, broken.stdout + broken.stderr
    fixed = repro.with_name("fixed.py")
    fixed.write_text(text.replace(text.split(f"{name} = r'''")[1].split("'''")[0], kernel))
    ran = run_script(fixed)
    assert ran.returncode == 0 and "does not reproduce" in ran.stdout, ran.stdout + ran.stderr
    return broken.stdout


@pytest.mark.parametrize(("mutant", "kind"), KILLS.items(), ids=lambda v: v)
def test_a_repro_fails_while_the_bug_is_there_and_passes_once_fixed(mutant: str, kind: str, tmp_path: Path) -> None:
    case, poison = killing_case(mutant)
    repro = write_repro(case, Config(mutant=mutant, poison=poison), tmp_path / "repro.py", "test")
    assert_fails_until_fixed(repro, kind, "DEFERRED", compile_variant(case.spec, "on", title="fixed").source.text)


def test_an_undischarged_repro_names_the_mask_the_record_lacks(tmp_path: Path) -> None:
    case, poison = killing_case("consumers-missing-one")
    repro = write_repro(case, Config(mutant="consumers-missing-one", poison=poison), tmp_path / "r.py", "test")
    ran = run_script(repro)
    assert "not recorded as discharging it" in ran.stdout, ran.stdout + ran.stderr


def test_a_baseline_mismatch_repro_fails_until_the_eager_kernel_is_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, eager_broken: None
) -> None:
    """A wrong eager kernel is the baseline's finding; the repro passes once EAGER is right."""
    case, poison = killing_case("drop-remask")
    repro = write_repro(case, Config(poison=poison), tmp_path / "repro.py", "test")
    monkeypatch.undo()
    eager = compile_variant(case.spec, "off", title="fixed").source.text
    assert_fails_until_fixed(repro, "baseline-mismatch", "EAGER", eager)


def test_a_compile_repro_fails_while_mosaic_rejects_the_deferred_kernel_alone(tmp_path: Path) -> None:
    """``compile``: bool-remask's deferred kernel is one Mosaic rejects on v5e (the eager one
    compiles); the repro compiles both deviceless and passes once DEFERRED is the real pass's."""
    case = load_case(Path(__file__).resolve().parents[2] / "examples" / "dense-kv-q-transpose-dot.json")
    config = Config(mutant="bool-remask", backend="tpu-aot", generations=("v5e",))
    repro = write_repro(case, config, tmp_path / "repro.py", "test")
    deferred = compile_variant(case.spec, "on", title="fixed").source.text
    assert "v5e: deferred rejected" in assert_fails_until_fixed(repro, "compile", "DEFERRED", deferred)
