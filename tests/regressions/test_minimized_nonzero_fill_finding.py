"""Regression: minimized nonzero-fill finding, exported by fuzzpass.

Finding: decision | deferred where expected kept | permute>min (mutant nonzero-fill).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized nonzero-fill finding",
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
      "out": "p4",
      "op": "permute",
      "arg": "x2",
      "dims": [
        1,
        2,
        0
      ]
    },
    {
      "out": "s6",
      "op": "min",
      "arg": "p4",
      "axis": 2
    },
    {
      "op": "store",
      "arg": "s6",
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


def test_minimized_nonzero_fill_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_nonzero_fill_finding_still_catches_nonzero_fill() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "nonzero-fill",
        "decision",
        "deferred where expected kept",
    )
