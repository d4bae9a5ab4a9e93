"""Shared fixtures and the ``--fuzzpass-`` options."""

from __future__ import annotations

from pathlib import Path

import pytest

from fuzzpass.backends import prepare_environment

prepare_environment()

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
