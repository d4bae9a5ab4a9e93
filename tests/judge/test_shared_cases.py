"""Every shipped case passes, with the decisions it expects, under every poison."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzpass.backends import tpu_aot
from fuzzpass.core.case import load_case
from fuzzpass.core.data import POISONS
from fuzzpass.judge.check import check_case
from tests.conftest import CONTRACT_CASES


def test_shared_cases_exist() -> None:
    assert len(CONTRACT_CASES) >= 3


@pytest.mark.parametrize("poison", POISONS)
@pytest.mark.parametrize("path", CONTRACT_CASES, ids=lambda p: p.stem)
def test_shared_case_passes_interpret(path: Path, poison: str) -> None:
    case = load_case(path)
    result = check_case(case, backend="interpret", poison=poison)
    assert result.verdict.value == "pass", result.findings
    assert case.expect_deferred is not None
    assert result.deferred == {k: list(v) for k, v in case.expect_deferred.items()}
    assert not result.comparisons["deferred"].nonfinite


@pytest.mark.parametrize("path", CONTRACT_CASES, ids=lambda p: p.stem)
def test_shared_case_compiles_for_tpu(path: Path) -> None:
    assert tpu_aot.unavailable() is None, "the test extra installs jax[tpu]; CI must compile for TPU"
    result = check_case(load_case(path), backend="tpu-aot", generations=("v5e", "v6e"))
    assert result.backends["tpu-aot"] == {
        gen: {"eager": "compiled", "deferred": "compiled"} for gen in ("v5e", "v6e")
    }, result.findings
    assert result.verdict.value == "pass"


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_example_passes(path: Path) -> None:
    case = load_case(path)
    result = check_case(case, backend="interpret")
    assert result.verdict.value == "pass", result.findings
    assert result.deferred == {k: list(v) for k, v in (case.expect_deferred or {}).items()}
