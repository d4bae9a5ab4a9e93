"""Whose fault a TPU compile rejection is: the pass's (``compile``, the deferred kernel alone
rejected), the baseline's (the eager one alone), or a limit of codegen and Mosaic that no
variant gets past (``tpu-unsupported``: exit 0, counted, never a finding).

Real rejections come from the real TPU compiler, deviceless (``jax[tpu]`` is part of the test
install; ``tests/judge/test_shared_cases.py`` insists on it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends.environment import libtpu_noise_filtered
from fuzzpass.core.case import Case
from fuzzpass.fuzz.compiles import CompileTally
from fuzzpass.judge import check
from fuzzpass.judge.check import check_case
from fuzzpass.judge.checked import Config
from fuzzpass.judge.checked import check as check_as_run
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.judge.rejections import compile_finding
from fuzzpass.judge.verdict import Kind
from reference.compile import compile_variant
from tests.specs import dense_kv

ROOT = Path(__file__).resolve().parents[2]


def test_both_variants_rejected_alike_is_tpu_unsupported() -> None:
    found = compile_finding("v6e", {"eager": "Mosaic: bad cast at 12", "deferred": "Mosaic: bad cast at 40"})
    assert found is not None and found.kind is Kind.TPU_UNSUPPORTED and found.variant is None
    assert found.message == "v6e: Mosaic: bad cast at 12"
    assert not found.kind.is_defect and found.kind.exit_code == 0


def test_one_variant_rejected_is_a_compile_finding_naming_it_and_the_other() -> None:
    found = compile_finding("v5e", {"deferred": "INTERNAL: Mosaic failed"})
    assert found is not None and found.kind is Kind.COMPILE and found.variant == "deferred"
    assert found.message == "v5e: deferred rejected, eager compiled: INTERNAL: Mosaic failed"
    eager = compile_finding("v5e", {"eager": "INTERNAL: Mosaic failed"})
    assert eager is not None and eager.variant == "eager" and eager.kind.exit_code == 1


def test_both_rejected_differently_is_a_compile_finding_with_both_messages() -> None:
    found = compile_finding("tpu7x", {"eager": "shape cast", "deferred": "relayout"})
    assert found is not None and found.kind is Kind.COMPILE and found.variant is None
    assert "eager: shape cast" in found.message and "deferred: relayout" in found.message
    assert compile_finding("tpu7x", {}) is None


def test_the_pass_breaking_compilation_is_caught_by_mosaic_alone() -> None:
    """``bool-remask`` broadcasts the deferred mask as booleans: interpret mode computes the
    same, Mosaic rejects the deferred kernel, the eager one compiles."""
    case = Case("dense-kv", 7, dense_kv(), {"x": ("t0",), "kt": ()})
    numerics = check_case(case, backend="interpret", mutant=MUTANTS["bool-remask"])
    assert numerics.verdict is Kind.PASS
    broken = check_case(case, backend="tpu-aot", generations=("v5e", "v6e"), mutant=MUTANTS["bool-remask"])
    assert broken.verdict is Kind.COMPILE and broken.verdict.exit_code == 1
    assert [(f.variant, f.message.split(":")[0]) for f in broken.findings] == [("deferred", "v5e"), ("deferred", "v6e")]
    assert broken.backends["tpu-aot"]["v6e"]["eager"] == "compiled"
    assert broken.backends["tpu-aot"]["v6e"]["deferred"].startswith("rejected: ")
    real = check_case(case, backend="tpu-aot", generations=("v5e", "v6e"))
    assert real.verdict is Kind.PASS and real.backends["tpu-aot"]["v6e"] == {
        "eager": "compiled",
        "deferred": "compiled",
    }
    signature = check_as_run(case, Config(backend="tpu-aot", mutant="bool-remask")).signature
    assert signature is not None and signature.blames_pass and signature.rule.startswith("v5e/deferred: ")


def test_a_structure_mosaic_cannot_build_is_tpu_unsupported_without_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(check.mosaic, "unsupported", lambda spec: "a structure no layout of which compiles")
    result = check_case(Case("dense-kv", 7, dense_kv(), None), backend="tpu-aot")
    assert result.verdict is Kind.TPU_UNSUPPORTED and result.verdict.exit_code == 0
    assert result.backends["tpu-aot"] == "unsupported: a structure no layout of which compiles"
    assert result.to_json()["findings"][0]["kind"] == "tpu-unsupported"


def test_compile_tally_counts_cases_per_generation() -> None:
    tally = CompileTally()
    both = {"eager": "compiled", "deferred": "compiled"}
    tally.add({"backends": {"tpu-aot": {"v5e": both, "v6e": both}}}, ("v5e", "v6e"))
    rejected = {"eager": "rejected: shape cast", "deferred": "rejected: shape cast"}
    tally.add({"backends": {"tpu-aot": {"v5e": rejected, "v6e": both}}}, ("v5e", "v6e"))
    tally.add({"backends": {"tpu-aot": "unsupported: float16"}}, ("v5e", "v6e"))
    gate = {
        "counts": {"v6e": {"eager": 10, "deferred": 8, "forced": None}},
        "rejected": {"v6e": {"forced": "relayout"}},
    }
    tally.add({"backends": {"interpret": "ran"}, "gate": gate}, ("v5e", "v6e"))
    assert tally.to_json() == {
        "v5e": {"compiled": 1, "rejected": 1, "unsupported": 1, "messages": {"shape cast": 1}},
        "v6e": {"compiled": 2, "rejected": 1, "unsupported": 1, "messages": {"relayout": 1}},
    }
    assert tally.table()[1].split() == ["v5e", "1", "1", "50.0%", "1"]
    assert CompileTally().to_json() is None and CompileTally().table() == []
    helion = CompileTally()
    on, off = {"ok": True, "bundles": 9, "message": ""}, {"ok": False, "bundles": None, "message": "shape cast"}
    helion.add_helion({"helion": {"tpu": {"v5e": {"on": on, "off": off}, "v6e": {"on": on, "off": on}}}})
    helion.add_helion({"helion": {"tpu": "unavailable: no libtpu"}})
    assert helion.to_json() == {
        "v5e": {"compiled": 0, "rejected": 1, "unsupported": 0, "messages": {"shape cast": 1}},
        "v6e": {"compiled": 1, "rejected": 0, "unsupported": 0, "messages": {}},
    }


def test_libtpu_start_up_noise_is_filtered_and_the_rest_kept(capfd: pytest.CaptureFixture[str]) -> None:
    with libtpu_noise_filtered():
        os.write(2, b"WARNING: could not determine TPU accelerator type, please set env var\n")
        os.write(2, b"a line a user should see\n")
    err = capfd.readouterr().err
    assert "could not determine TPU accelerator type" not in err and "a line a user should see" in err


@pytest.mark.parametrize("platforms", ["", "cpu"])
def test_check_prints_no_libtpu_noise(platforms: str) -> None:
    """Whether libtpu starts with JAX's backends or, under ``JAX_PLATFORMS=cpu``, only when
    the first deviceless compile asks for a TPU topology."""
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"} | (
        {"JAX_PLATFORMS": platforms} if platforms else {}
    )
    run = subprocess.run(
        [sys.executable, "-m", "fuzzpass", "check", str(ROOT / "examples" / "dense-kv-q-transpose-dot.json")],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("dense-kv-q-transpose-dot (seed 7, poison nan): pass")
    assert "TPU accelerator type" not in run.stderr and "TPU_WORKER_HOSTNAMES" not in run.stderr
    assert "tpu-aot: v5e compiled, v6e compiled" in run.stdout


def test_a_lowering_rule_that_asks_for_the_chip_sees_the_target_generation() -> None:
    """Integer floor division lowers through a rule that reads the default device's kind: it
    compiles for every generation once the target chip is JAX's default device."""
    from fuzzpass.backends import tpu_aot
    from fuzzpass.core.data import draw

    case = Case("dense-kv", 7, dense_kv(), None)
    source = compile_variant(case.spec, "off").source
    floor = source.text.replace("t0_extent = t0_extent_ref[i0]", "t0_extent = (t0_extent_ref[i0] * 2) // jnp.int32(2)")
    assert floor != source.text
    edited = type(source)(floor, source.tiles, source.inputs, source.outputs)
    for gen in ("v5e", "v6e", "tpu7x"):
        compiled = tpu_aot.compile_for(edited, draw(case), "bfloat16", gen)
        assert compiled.ok, compiled.message


def test_report_json_keeps_backends_tpu_aot_generation_variant() -> None:
    result = check_case(Case("dense-kv", 7, dense_kv(), None), backend="tpu-aot", generations=("tpu7x",))
    report = json.loads(json.dumps(result.to_json()))
    assert report["backends"]["tpu-aot"] == {"tpu7x": {"eager": "compiled", "deferred": "compiled"}}
