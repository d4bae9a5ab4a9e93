"""``fuzzpass corpus --ray``: the record and judge phases on Ray actors of a local cluster
(the supervisor's Ray launcher), one small kernel file recorded and judged as processes do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="the ray extra (pip install -e '.[ray]'), which .ci/run installs")

CORPUS = Path(__file__).parent / "corpus"


def test_a_kernel_file_recorded_and_judged_by_ray_actors(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "fuzzpass", "corpus", str(CORPUS / "head_sum.py"), "--out", str(tmp_path),
               "--jobs", "2", "--tpu", "none", "--timeout", "240", "--ray"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    k = json.loads((tmp_path / "summary.json").read_text())["corpus"]["kernels"]
    assert k["found"] == 2 and k["bound"] == 1 and k["calls"] == 1 and k["fired"] == 1  # never_called is skipped
    assert k["numerics_agree"] == 1 and k["expressible"] == 1
    events = [json.loads(line) for line in (tmp_path / "kernels.jsonl").read_text().splitlines()]
    (head,) = [e for e in events if e.get("kernel") == "jagged_head_sum" and e.get("status") == "checked"]
    assert head["fired"] and head["numerics"]["on vs reference"] == "agree"
    assert list((tmp_path / "calls").rglob("judged.json"))  # the actors wrote beside the driver, as processes do
    assert not (tmp_path / "workers.log").exists()  # no worker process ran: their output is in Ray's logs
