"""Regression: minimized consumers-missing-one finding, exported by fuzzpass.

Finding: undischarged | decide | permute>sum>dot (mutant consumers-missing-one).
"""

from __future__ import annotations

import json

from fuzzpass.core.case import parse_case
from fuzzpass.regression import assert_holds, assert_still_caught

CASE_FILE = r"""{
  "format": "fuzzpass.case/1",
  "name": "minimized consumers-missing-one finding",
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
    },
    "q6": {
      "shape": [
        1,
        "t0",
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
      "out": "p3",
      "op": "permute",
      "arg": "x2",
      "dims": [
        1,
        2,
        0
      ]
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
      "out": "s5",
      "op": "sum",
      "arg": "p4",
      "axis": 2
    },
    {
      "op": "store",
      "arg": "s5",
      "dst": "out1"
    },
    {
      "out": "x7",
      "op": "load",
      "src": "q6"
    },
    {
      "out": "d8",
      "op": "dot",
      "lhs": "p3",
      "rhs": "x7"
    }
  ],
  "expect": {
    "deferred": {
      "x2": [
        "t0"
      ],
      "x7": []
    }
  }
}"""
CASE = parse_case(json.loads(CASE_FILE))


def test_minimized_consumers_missing_one_finding_holds_with_the_real_pass() -> None:
    assert_holds(CASE, "nan")


def test_minimized_consumers_missing_one_finding_still_catches_consumers_missing_one() -> None:
    assert_still_caught(
        CASE,
        "nan",
        "consumers-missing-one",
        "undischarged",
        "decide",
    )
