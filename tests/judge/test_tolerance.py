"""The tolerance raises no false alarm: shipped cases on many seeds, NaN poison, all pass.

``pytest tests/judge/test_tolerance.py --fuzzpass-seeds 1000`` is the full sweep the closing note
reports; CI runs the default count. Kernels are compiled once per case and reused across
seeds (only data changes), so a seed costs two interpret-mode runs and the ground truth.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from fuzzpass.core.case import load_case
from fuzzpass.judge.check import check_case
from tests.conftest import CONTRACT_CASES


@pytest.mark.parametrize("path", CONTRACT_CASES, ids=lambda p: p.stem)
def test_no_false_alarm_over_seeds(path: Path, seeds: int) -> None:
    case = load_case(path)
    failures = []
    for seed in range(seeds):
        result = check_case(dataclasses.replace(case, seed=seed), backend="interpret", poison="nan")
        if result.verdict.value != "pass":
            failures.append((seed, [f.message for f in result.findings]))
    assert not failures, failures[:3]
