"""Regression: minimized mul-without-strict-float finding, exported by fuzzpass.

Finding: mismatch | deferred variant, nothing deferred | mul>sum (mutant mul-without-strict-float).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized mul-without-strict-float finding",
  "seed": 0,
  "dtype": "float32",
  "tiles": {
    "t0": {
      "block": 2,
      "lengths": [
        1
      ]
    }
  },
  "inputs": {
    "q1": {
      "shape": [
        "t0"
      ]
    }
  },
  "graph": [
    {
      "out": "x2",
      "op": "load",
      "src": "q1"
    },
    {
      "out": "e4",
      "op": "mul",
      "arg": "x2",
      "scalar": "inf"
    },
    {
      "out": "s5",
      "op": "sum",
      "arg": "e4",
      "axis": 0
    },
    {
      "op": "store",
      "arg": "s5",
      "dst": "out1"
    }
  ],
  "expect": {
    "deferred": {
      "x2": []
    }
  }
}"""
CASE = parse_case(json.loads(CASE_FILE))


def test_minimized_mul_without_strict_float_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_mul_without_strict_float_finding_still_catches_mul_without_strict_float() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "mul-without-strict-float",
        "mismatch",
        "deferred variant, nothing deferred",
    )
