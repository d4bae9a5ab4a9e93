"""Regression: minimized inverted-gate finding, exported by fuzzpass.

Finding: decision | deferred where expected kept | permute>sum (mutant inverted-gate).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized inverted-gate finding",
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
        1,
        1,
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
      "out": "p3",
      "op": "permute",
      "arg": "x2",
      "dims": [
        2,
        1,
        0
      ]
    },
    {
      "out": "d7",
      "op": "sum",
      "arg": "p3",
      "axis": 2
    },
    {
      "op": "store",
      "arg": "d7",
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


def test_minimized_inverted_gate_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_inverted_gate_finding_still_catches_inverted_gate() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "inverted-gate",
        "decision",
        "deferred where expected kept",
    )
