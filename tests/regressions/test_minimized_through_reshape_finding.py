"""Regression: minimized through-reshape finding, exported by fuzzpass.

Finding: decision | deferred where expected kept | reshape>sum (mutant through-reshape).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized through-reshape finding",
  "seed": 0,
  "dtype": "float32",
  "tiles": {
    "t0": {
      "block": 1,
      "lengths": [
        0
      ]
    }
  },
  "inputs": {
    "q1": {
      "shape": [
        "t0",
        1,
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
      "out": "r5",
      "op": "reshape",
      "arg": "x2",
      "shape": [
        1,
        "t0",
        1
      ]
    },
    {
      "out": "d10",
      "op": "sum",
      "arg": "r5",
      "axis": 1
    },
    {
      "op": "store",
      "arg": "d10",
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


def test_minimized_through_reshape_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_through_reshape_finding_still_catches_through_reshape() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "through-reshape",
        "decision",
        "deferred where expected kept",
    )
