"""The compile cache, as a rerun and as a nightly sees it: ``python bench/rerun.py [--nightly]``.

Each backend's run is made twice under one ``--out`` (so the second finds the first's compile
cache). By default both have seed 1 and a corpus of their own (so the second draws exactly the
first's cases: a shared corpus would replay the first run's findings in front of them), the
second's seconds are set against the first's, and the verdicts and findings of both must be the
same: a cache that changed a result would show here.

``--nightly``: the second run has a new seed (a nightly changes it every night) and keeps the
first's corpus, as two nights under one ``--out`` do; the cases differ, so the figure is the
second's cases per second against the first's. Prints one line per backend.
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


def run(out: Path, corpus: Path, extra: list[str], seed: int = 1) -> dict[str, Any]:
    command = [sys.executable, "-m", "fuzzpass", "run", "--jobs", "2", "--seed", str(seed), "--out", str(out),
               "--corpus", str(corpus), "--quiet", "--no-minimize", *extra]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True)
    return json.loads((out / "summary.json").read_text())


def found(summary: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["signature"], f["count"]) for f in summary["findings"]]


def nightly(work: Path) -> None:
    for name, extra in RUNS.items():
        out = work / name
        first, second = (run(out, out / "corpus", extra, seed) for seed in (1, 2))
        rates = [s["cases"] / s["seconds"] for s in (first, second)]
        print(f"{name}: night 1 (seed 1) {rates[0]:.1f} cases/s, night 2 (seed 2, cache and corpus kept) "
              f"{rates[1]:.1f} cases/s: {rates[1] / rates[0]:.2f}x")  # fmt: skip


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="fuzzpass-rerun-"))
    if "--nightly" in sys.argv[1:]:
        nightly(work)
        return
    for name, extra in RUNS.items():
        out = work / name
        first, second = (run(out, out / f"corpus-{i}", extra) for i in (1, 2))
        same = first["verdicts"] == second["verdicts"] and found(first) == found(second)
        print(f"{name}: {first['cases']} cases in {first['seconds']:.1f} s, again in {second['seconds']:.1f} s: "
              f"{first['seconds'] / second['seconds']:.1f}x; same verdicts and findings: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
