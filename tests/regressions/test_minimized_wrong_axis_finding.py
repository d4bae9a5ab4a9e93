"""Regression: minimized wrong-axis finding, exported by fuzzpass.

Finding: crash | execute/deferred: ValueError | permute>sum (mutant wrong-axis).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized wrong-axis finding",
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
      "out": "p5",
      "op": "permute",
      "arg": "x2",
      "dims": [
        2,
        0,
        1
      ]
    },
    {
      "out": "s6",
      "op": "sum",
      "arg": "p5",
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
      "x2": [
        "t0"
      ]
    }
  }
}"""
CASE = parse_case(json.loads(CASE_FILE))


def test_minimized_wrong_axis_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_wrong_axis_finding_still_catches_wrong_axis() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "wrong-axis",
        "crash",
        "execute/deferred: ValueError",
    )
