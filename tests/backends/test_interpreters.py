"""The ``interpret`` backend screens with Pallas' generic interpreter and has TPU interpret mode
judge what it flags. That is only sound if the two compute the same numbers on fuzzpass's
kernels: the same NaN wherever memory was never written or poison leaked, and the same values
elsewhere. These tests hold them to it on the shared cases, the examples and the kernels of
every mutant, and check the screen's bookkeeping: a finding is TPU interpret mode's, a false
alarm of the screen is overruled and said so."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest

from fuzzpass.backends import interpret
from fuzzpass.core.case import Case, load_case
from fuzzpass.core.data import draw
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import MUTANTS
from reference.compile import compile_variant
from tests.conftest import CONTRACT_CASES
from tests.judge.test_mutants import sum_over_lane_tile
from tests.specs import node, spec

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = sorted((ROOT / "tests" / "regressions").glob("test_minimized_*.py"))


def caught(module: Path) -> tuple[Case, str, str, str]:
    """An exported regression's case, and the mutant it catches with the verdict kind: one
    killing case per mutant, minimized by fuzzpass itself."""
    exported = importlib.import_module(f"tests.regressions.{module.stem}")
    mutant = module.stem.removeprefix("test_minimized_").removesuffix("_finding").replace("_", "-")
    source = module.read_text()
    kind = source.split("Finding: ", 1)[1].split(" |", 1)[0]
    poison = "finite" if '"finite",' in source else "zero" if '"zero",' in source else "nan"
    return exported.CASE, mutant, kind, poison


def assert_same_numbers(case: Case, poison: str, mutant: str | None = None, crashes: bool = False) -> None:
    """Both kernels of ``case`` (the eager one, and the real pass's or ``mutant``'s) give the
    same numbers in both interpreters. A kernel that fails to build or run fails the test,
    but for a mutant's killing kernel whose finding is a crash (``crashes``): that one must
    fail, and alike in both."""
    data = draw(case, poison)
    eager = compile_variant(case.spec, "off")
    deferred = MUTANTS[mutant].compile(case.spec, "t") if mutant else compile_variant(case.spec, "on")
    for variant, must_crash in ((eager, False), (deferred, crashes)):
        if must_crash:
            with pytest.raises(Exception) as generic_error:  # any exception, the same type in both
                interpret.run(variant.source, data, case.spec.dtype, "generic")
            with pytest.raises(generic_error.type):
                interpret.run(variant.source, data, case.spec.dtype, "tpu")
            continue
        generic = interpret.run(variant.source, data, case.spec.dtype, "generic")
        tpu = interpret.run(variant.source, data, case.spec.dtype, "tpu")
        assert generic.keys() == tpu.keys() and generic
        for name, got in generic.items():
            assert np.array_equal(np.isnan(got), np.isnan(tpu[name])), f"{name}: NaN in different places"
            np.testing.assert_allclose(got, tpu[name], rtol=1e-6, atol=0, equal_nan=True, err_msg=name)


CASES = sorted((ROOT / "examples").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_both_interpreters_compute_the_same_numbers_on_the_shipped_cases(path: Path) -> None:
    assert_same_numbers(load_case(path), "nan")


@pytest.mark.parametrize("module", REGRESSIONS, ids=lambda p: p.stem.removeprefix("test_minimized_"))
def test_both_interpreters_compute_the_same_numbers_on_each_mutants_killing_case(module: Path) -> None:
    case, mutant, kind, poison = caught(module)
    assert_same_numbers(case, poison, mutant, crashes=kind == "crash")


def test_the_regressions_cover_every_mutant_the_numerics_kill() -> None:
    covered = {caught(m)[1] for m in REGRESSIONS} | {"wrong-axis"}  # wrong-axis: the test below
    # a mutant only the gate audit's kernels show is judged the same way in tests/judge/test_audited.py
    assert covered >= {name for name, m in MUTANTS.items() if m.oracle == "interpret" and not m.audited}


@pytest.mark.parametrize("module", REGRESSIONS, ids=lambda p: p.stem.removeprefix("test_minimized_"))
def test_a_mutant_is_killed_the_same_way_in_tpu_interpret_mode(module: Path) -> None:
    case, mutant, kind, poison = caught(module)
    screened = check_case(case, backend="interpret", poison=poison, mutant=MUTANTS[mutant])
    tpu = check_case(case, backend="interpret-tpu", poison=poison, mutant=MUTANTS[mutant])
    assert screened.verdict.value == tpu.verdict.value == kind
    assert tpu.backends == {"interpret-tpu": "ran"}
    if kind in ("mismatch", "nonfinite-leak", "baseline-mismatch", "crash"):  # flagged by the screen, judged again
        assert screened.backends == {"interpret": f"generic interpreter: {kind}; TPU interpret mode: {kind}"}
    else:  # a decision finding: the numbers are right under both
        assert screened.backends == {"interpret": "ran"}


def test_wrong_axis_is_killed_the_same_way_in_tpu_interpret_mode() -> None:
    case = Case(name="wrong-axis", seed=3, spec=sum_over_lane_tile(), expect_deferred=None)
    assert_same_numbers(case, "finite", "wrong-axis")
    tpu = check_case(case, backend="interpret-tpu", poison="finite", mutant=MUTANTS["wrong-axis"])
    assert tpu.verdict.value == "mismatch"


def test_a_false_alarm_of_the_screen_is_overruled_by_tpu_interpret_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    real = interpret.run

    def noisy_screen(source, data, dtype, interpreter="generic"):  # type: ignore[no-untyped-def]
        outs = real(source, data, dtype, interpreter)
        return {k: v + 1.0 for k, v in outs.items()} if interpreter == "generic" else outs

    monkeypatch.setattr(interpret, "run", noisy_screen)
    result = check_case(load_case(CONTRACT_CASES[0]), backend="interpret", poison="zero")
    assert result.verdict.value == "pass"
    assert result.backends == {"interpret": "generic interpreter: baseline-mismatch; TPU interpret mode: pass"}
    assert result.comparisons["eager"].out_of_tolerance == 0  # the kept comparisons are TPU interpret mode's


@pytest.mark.parametrize("interpreter", ["generic", "tpu"])
def test_a_bfloat16_dot_of_a_transposed_masked_operand_runs_on_the_cpu(interpreter: str) -> None:
    """Deferred before a dot, the mask is a select fused into a transposed bfloat16 operand:
    XLA:CPU has no dot for that (``Unsupported element type for DotThunk::Execute: BF16 x BF16
    = F32``), so the interpreters widen 16-bit dot operands (``kernel.CpuLax``). The kernel must
    run, and compute what the eager one does (widening is exact)."""
    s = spec({"q": ("t0", 8), "k": ("t0", 2)}, node("load", "x", src="q"), node("permute", "xt", arg="x", dims=[1, 0]),
             node("load", "y", src="k"), node("dot", "d", lhs="xt", rhs="y"), node("store", arg="d", dst="out"),
             block=8, lengths=(17, 17, 17))  # fmt: skip
    case = Case("bf16-transposed-dot", 1, s, None)
    data = draw(case, "finite")
    eager, forced = compile_variant(s, "off"), compile_variant(s, "force")
    assert "jnp.where" in forced.source.text and "jnp.where" not in eager.source.text  # the mask moved
    got, want = (interpret.run(v.source, data, "bfloat16", interpreter)["out"] for v in (forced, eager))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
