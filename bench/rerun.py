"""The compile cache on the same work: ``python bench/rerun.py``.

Each backend's run is made twice under one ``--out`` (so the second finds the first's compile
cache), each with a corpus of its own (so the second draws exactly the first's cases: a shared
corpus would replay the first run's findings in front of them), and the second's seconds are
set against the first's. The verdicts and findings of both runs must be the same: a cache
that changed a result would show here. Prints one line per backend.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

RUNS = {
    "interpret": ["--budget", "2000cases"],
    "tpu-aot": ["--budget", "1000cases", "--backend", "tpu-aot", "--tpu", "v5e,v6e"],
    "check-gate": ["--budget", "200cases", "--check-gate", "--tpu", "v5e,v6e"],
}


def run(out: Path, corpus: Path, extra: list[str]) -> dict[str, Any]:
    command = [sys.executable, "-m", "fuzzpass", "run", "--jobs", "2", "--seed", "1", "--out", str(out),
               "--corpus", str(corpus), "--quiet", "--no-minimize", *extra]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True)
    return json.loads((out / "summary.json").read_text())


def found(summary: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["signature"], f["count"]) for f in summary["findings"]]


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fuzzpass-rerun-"))
    for name, extra in RUNS.items():
        out = work / name
        first, second = (run(out, out / f"corpus-{i}", extra) for i in (1, 2))
        same = first["verdicts"] == second["verdicts"] and found(first) == found(second)
        print(f"{name}: {first['cases']} cases in {first['seconds']:.1f} s, again in {second['seconds']:.1f} s: "
              f"{first['seconds'] / second['seconds']:.1f}x; same verdicts and findings: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
