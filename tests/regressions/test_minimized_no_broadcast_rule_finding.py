"""Regression: minimized no-broadcast-rule finding, exported by fuzzpass.

Finding: nonfinite-leak | deferred variant, nothing deferred | sub>sum (mutant no-broadcast-rule).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized no-broadcast-rule finding",
  "seed": 0,
  "dtype": "float32",
  "tiles": {
    "t1": {
      "block": 2,
      "lengths": [
        1
      ]
    }
  },
  "inputs": {
    "q1": {
      "shape": [
        "t1",
        1,
        1
      ]
    },
    "q5": {
      "shape": [
        1
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
      "out": "x6",
      "op": "load",
      "src": "q5"
    },
    {
      "out": "e4",
      "op": "sub",
      "lhs": "x2",
      "rhs": "x6"
    },
    {
      "out": "s8",
      "op": "sum",
      "arg": "e4",
      "axis": 0
    },
    {
      "op": "store",
      "arg": "s8",
      "dst": "out1"
    }
  ],
  "expect": {
    "deferred": {
      "x2": [],
      "x6": []
    }
  }
}"""
CASE = parse_case(json.loads(CASE_FILE))


def test_minimized_no_broadcast_rule_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_no_broadcast_rule_finding_still_catches_no_broadcast_rule() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "no-broadcast-rule",
        "nonfinite-leak",
        "deferred variant, nothing deferred",
    )
