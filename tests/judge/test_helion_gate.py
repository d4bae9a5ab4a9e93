"""Helion's gate audited on its own kernels (``--check-gate --backend helion``): its pass forced
past the gate, the three kernels on static schedules, ``helion-gate`` findings, and the repros
of Helion's TPU findings compiling its kernels deviceless."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import helion, helion_bind, helion_patches
from fuzzpass.core.case import Case
from fuzzpass.core.data import draw
from fuzzpass.judge import gate
from fuzzpass.judge.check import check_case
from fuzzpass.judge.checked import Config
from fuzzpass.judge.signature import signature
from fuzzpass.perf.gate_report import report
from fuzzpass.repro.export import write_repro
from reference.helion_codegen import helion_source
from reference.spec import KernelSpec
from tests.specs import dense_kv, node, spec

helion.prepare_environment()  # before anything here imports Helion


def rank4_sum() -> KernelSpec:
    """The tile moves from dim 0 to dim 1 of four: a major dim at both ends, so both gates
    keep the eager mask, and forcing defers it."""
    return spec(
        {"q": ("t0", 2, 8, 128)},
        node("load", "x", src="q"),
        node("permute", "xt", arg="x", dims=[1, 0, 2, 3]),
        node("sum", "r", arg="xt", axis=1),
        node("store", arg="r", dst="out"),
    )


def case(s: KernelSpec, name: str = "test") -> Case:
    return Case(name=name, seed=5, spec=s, expect_deferred=None)


def decided(s: KernelSpec, mode: str) -> dict[str, list[str]]:
    c = case(s)
    bound = helion_bind.bind(helion_source(c.spec, c.name), draw(c, "nan"), c.spec.dtype, mode)
    return {load.node: load.deferred for load in bound.loads if load.node == "x"}


def test_forcing_helions_pass_defers_where_its_gate_keeps_and_nowhere_unsafe() -> None:
    assert decided(rank4_sum(), "on") == {"x": []}
    assert decided(rank4_sum(), "force") == {"x": ["t0"]}
    assert decided(dense_kv(), "force") == decided(dense_kv(), "on") == {"x": ["t0"]}
    base = dense_kv()
    second_use = spec(dict(base.inputs), *base.graph, node("exp", "e", arg="x"), node("store", arg="e", dst="raw"))
    assert decided(second_use, "force") == {"x": []}  # Helion's safety walk still holds: a second use keeps it


def test_a_helion_without_its_gate_predicates_reports_why(monkeypatch: pytest.MonkeyPatch) -> None:
    from helion._compiler import node_masking

    def defer_pallas_load_masks(graph: object) -> None:  # a Helion whose gate is written otherwise
        return None

    monkeypatch.setattr(node_masking, "defer_pallas_load_masks", defer_pallas_load_masks)
    reason = helion_patches.gate_unavailable()
    assert reason is not None and "no predicate is_major_dim, is_last_two_dim" in reason
    result = check_case(case(rank4_sum()), backend="helion", generations=(), gate=("v6e",))
    assert result.helion is not None and result.helion["gate"] == f"unavailable: {reason}"
    assert set(result.helion["comparisons"]) == {"on", "off"}  # the interpret half still ran


def test_helions_gate_is_audited_on_its_three_kernels_beside_the_reference() -> None:
    result = check_case(case(rank4_sum()), backend="helion", generations=(), gate=("v5e", "v6e", "tpu7x"))
    assert result.helion is not None and result.gate is not None
    record = result.helion["gate"]
    assert record["by"] == "helion" and record["choice"] == "keep" and record["pattern"] == result.gate.pattern
    assert set(record["counts"]) == {"v5e", "v6e", "tpu7x"}  # what it judges, compiled
    v6e = record["counts"]["v6e"]
    assert all(isinstance(v6e[name], int) and v6e[name] > 0 for name in ("eager", "deferred", "forced"))
    assert v6e["eager"] == v6e["deferred"]  # Helion kept the mask: its pass-on kernel is its pass-off kernel
    # Helion's bfloat16 eager mask is a shape cast v5e's Mosaic rejects; its forced kernel compiles
    assert "unsupported shape cast" in record["rejected"]["v5e"]["eager"] and "forced" not in record["rejected"]["v5e"]
    assert not [f for f in result.findings if f.kind.value == "helion-gate"]  # it agrees on v6e and tpu7x


def test_a_helion_gate_finding_names_the_generation_and_its_repro_compiles_helions_kernels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a margin no choice can meet, Helion's choice is a finding; the repro recompiles
    its kernels deviceless and reproduces while that margin holds, and not under the real one."""
    monkeypatch.setattr(gate, "MARGIN", -0.5)
    c = case(dense_kv(), "dense-kv")
    result = check_case(c, backend="helion", generations=(), gate=("v6e",))
    (finding,) = [f for f in result.findings if f.kind.value == "helion-gate"]
    assert finding.variant == "helion-on" and finding.message.startswith("v6e: the pass chose to defer: ")
    report_ = dict(result.to_json(), verdict="helion-gate", findings=[finding.to_json()])
    sig = signature(report_, c.spec)
    assert sig is not None and sig.rule == "v6e: defer costs more" and not sig.blames_pass
    repro = write_repro(c, Config(backend="helion", generations=(), gate=("v6e",)), tmp_path / "repro.py", "test",
                        "helion-gate")  # fmt: skip
    facts = json.loads(repro.read_text().split('FINDING = json.loads(r"""')[1].split('"""')[0])
    assert facts["kind"] == "helion-gate" and facts["tpu"]["margin"] == -0.5 and facts["tpu"]["choice"] == "defer"
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "REPRODUCED" in run.stdout, run.stdout + run.stderr
    assert "v6e: Helion's pass chose to defer: " in run.stdout and "its pass off: " in run.stdout
    repro.write_text(repro.read_text().replace('"margin": -0.5', '"margin": 10.0'))
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "not reproduced" in run.stdout, run.stdout + run.stderr


def test_a_helion_compile_finding_exports_a_repro_that_rejects_the_same_kernel(tmp_path: Path) -> None:
    c = case(dense_kv(), "dense-kv")
    repro = write_repro(c, Config(backend="helion", generations=("v5e",)), tmp_path / "repro.py", "test",
                        "helion-compile")  # fmt: skip
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "v5e: Helion, pass off: rejected: " in run.stdout and "unsupported shape cast" in run.stdout
    assert "v5e: Helion, pass on: compiled" in run.stdout and "REPRODUCED" in run.stdout


def test_the_gate_report_sets_helions_gate_beside_the_references() -> None:
    pattern = {"consumer": "sum", "rank": 4, "at_load": 0, "at_consumer": "1"}
    counts = {g: {"eager": 120, "deferred": 120, "forced": 110} for g in gate.GENERATIONS}
    records = [
        {"by": "reference", "pattern": pattern, "choice": "keep", "counts": counts},
        {"by": "helion", "pattern": pattern, "choice": "defer",
         "counts": {g: {"eager": 120, "deferred": 110, "forced": 110} for g in gate.GENERATIONS}},
    ]  # fmt: skip
    lines = report(records)
    v6e = lines.index(next(line for line in lines if line.startswith("v6e: ")))
    said = "1 cases (0 not compiled); deferral pays in 1 (100%); the gate agrees in"
    assert lines[v6e] == f"v6e: reference: {said} 0 (0%)" and lines[v6e + 1].strip() == f"helion: {said} 1 (100%)"
    row = next(line for line in lines[v6e:] if line.strip().startswith("sum"))
    assert row.split()[-8:] == ["1", "1", "1", "0", "1", "1", "1", "1"]
