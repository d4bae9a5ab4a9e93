"""``bench/gate_fit.py``: trees over what a gate reads, fitted on one run's schedules and
scored on another's, beside the positional gate and the best constant choice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def case_file(block: int) -> dict[str, object]:
    """Values of a head-major permute into a dot (``p @ v``), the tile of ``block`` rows."""
    return {
        "format": "fuzzpass.case/1", "name": f"pv-{block}", "seed": 1, "dtype": "bfloat16",
        "tiles": {"t0": {"block": block, "lengths": [block]}},
        "inputs": {"v": {"shape": ["t0", 2, 128]}, "p": {"shape": [2, 64, "t0"]}},
        "graph": [{"out": "x", "op": "load", "src": "v"}, {"out": "vt", "op": "permute", "arg": "x", "dims": [1, 0, 2]},
                  {"out": "y", "op": "load", "src": "p"},
                  {"out": "o", "op": "dot_general", "lhs": "y", "rhs": "vt", "contract": [[2], [1]],
                   "batch": [[0], [0]]},
                  {"op": "store", "arg": "o", "dst": "out"}],
        "expect": {"deferred": {"x": ["t0"], "y": []}},
    }  # fmt: skip


def record(block: int, forced: int) -> dict[str, object]:
    """An audit on v6e only: eager 100 bundles, forced ``forced``; the positional gate defers."""
    return {"by": "reference", "pattern": {"consumer": "dot_general", "rank": 3, "at_load": 0, "at_consumer": "1"},
            "choice": "defer", "counts": {"v6e": {"eager": 100, "deferred": forced, "forced": forced}},
            "rejected": {"v6e": {}}, "case": f"pv-{block}", "case_file": case_file(block)}  # fmt: skip


def test_a_tree_over_the_block_tells_the_cheaper_choice_where_the_positional_gate_cannot(tmp_path: Path) -> None:
    """Deferring pays at 64 rows and costs 30% at 128: a depth-1 tree splits on the block and
    agrees on both; the positional gate and either constant choice on one."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "gate.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (record(64, 80), record(128, 130))))
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "gate_fit.py"), str(run), str(run)],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "v5e: not run: the test run did not audit it" in lines
    v6e = next(line for line in lines if line.startswith("v6e:"))
    assert v6e.startswith("v6e: 2 cases (2 to fit): positional 50.0%, best constant 50.0%, depth 1 100.0%"), v6e
