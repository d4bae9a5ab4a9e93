"""Regression: minimized through-reshape finding, exported by fuzzpass.

Finding: decision | deferred where expected kept | reshape>sum (mutant through-reshape).
"""

from __future__ import annotations

import json

from fuzzpass.case import parse_case
from fuzzpass.check import check_case
from fuzzpass.mutants import MUTANTS
from fuzzpass.signature import signature

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
    result = check_case(CASE, backend="interpret", poison="nan")
    assert result.verdict.value == "pass", [f.message for f in result.findings]


def test_minimized_through_reshape_finding_still_kills_through_reshape() -> None:
    result = check_case(CASE, backend="interpret", poison="nan", mutant=MUTANTS["through-reshape"])
    found = signature(result.to_json(), CASE.spec)
    assert found is not None
    assert (found.kind, found.rule) == ("decision", "deferred where expected kept")
