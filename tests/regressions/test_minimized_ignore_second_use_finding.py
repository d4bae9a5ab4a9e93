"""Regression: minimized ignore-second-use finding, exported by fuzzpass.

Finding: decision | deferred where expected kept | permute>sum (mutant ignore-second-use).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized ignore-second-use finding",
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
      "out": "p6",
      "op": "permute",
      "arg": "x2",
      "dims": [
        1,
        0,
        2
      ]
    },
    {
      "out": "s7",
      "op": "sum",
      "arg": "p6",
      "axis": 2
    },
    {
      "op": "store",
      "arg": "x2",
      "dst": "out2"
    }
  ],
  "expect": {
    "deferred": {
      "x2": []
    }
  }
}"""
CASE = parse_case(json.loads(CASE_FILE))


def test_minimized_ignore_second_use_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_ignore_second_use_finding_still_catches_ignore_second_use() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "ignore-second-use",
        "decision",
        "deferred where expected kept",
    )
