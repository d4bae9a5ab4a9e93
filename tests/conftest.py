"""Shared fixtures and the ``--fuzzpass-`` options."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from fuzzpass.backends import schedule
from fuzzpass.backends.environment import prepare_environment

schedule.enable()  # static schedules for tests/perf/test_gate.py and tests/benchmarks: before libtpu starts
prepare_environment()

# CI: derandomized, bounded, no example database, so a red test is red on every machine.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_CASES = sorted((Path(__file__).resolve().parents[2] / "shared" / "cases").glob("*.json"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzzpass-seeds",
        type=int,
        default=40,
        help="seeds per shipped case in the tolerance sweep (the closing note's figure used 1000)",
    )


@pytest.fixture
def seeds(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fuzzpass-seeds"))
