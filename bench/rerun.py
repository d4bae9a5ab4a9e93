"""The compile cache, as a rerun and as a nightly sees it: ``python bench/rerun.py [--nightly]``.

Each backend's run is made twice under one ``--out`` (so the second finds the first's compile
cache). By default both have seed 1 and a corpus of their own (so the second draws exactly the
first's cases: a shared corpus would replay the first run's findings in front of them), the
second's seconds are set against the first's, and the verdicts and findings of both must be the
same: a cache that changed a result would show here.

``--nightly [--nights N] [--seeds CORPUS]``: night k has seed k (a nightly changes it every
night) and keeps the earlier nights' corpus and cache, as nights under one ``--out`` do; the
cases differ, so the figure is each night's cases per second against the first's. A nightly's
corpus also holds seed structures from real kernels (``ci/corpus.sh`` runs ``fuzzpass corpus``
first) and every other segment mutates one of them: ``--seeds`` copies the seeds of a corpus
``fuzzpass corpus`` made into each backend's before night 1. Two seeds draw different cases,
of different costs, so the last night's seed is also run under a fresh ``--out``: the same
cases with nothing kept, the cache's own share. Prints one line per backend.
"""

from __future__ import annotations

import argparse
import json
import shutil
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
               "--examples", str(corpus), "--quiet", "--no-minimize", *extra]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True)
    return json.loads((out / "summary.json").read_text())


def found(summary: dict[str, Any]) -> list[tuple[str, int]]:
    return [(f["signature"], f["count"]) for f in summary["findings"]]


def nightly(work: Path, nights: int, seeds: Path | None) -> None:
    for name, extra in RUNS.items():
        out, cold = work / name, work / f"{name}-cold"
        if seeds is not None:
            for o in (out, cold):
                shutil.copytree(seeds / "seeds", o / "examples" / "seeds")
        summaries = [run(out, out / "examples", extra, seed) for seed in range(1, nights + 1)]
        control = run(cold, cold / "examples", extra, nights)  # the last night's cases, with nothing kept
        rates = [s["cases"] / s["seconds"] for s in (*summaries, control)]
        later = ", ".join(f"night {k} {r:.1f} ({r / rates[0]:.2f}x)" for k, r in enumerate(rates[1:-1], 2))
        print(f"{name}: night 1 {rates[0]:.1f} cases/s; {later}; night {nights}'s seed under a fresh --out "
              f"{rates[-1]:.1f} (the cache: {rates[-2] / rates[-1]:.2f}x); seed structures: "
              f"{summaries[0]['example_seeds']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nightly", action="store_true")
    parser.add_argument("--nights", type=int, default=2)
    parser.add_argument("--seeds", type=Path, default=None, help="a corpus whose seeds/ a nightly's would hold")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fuzzpass-rerun-"))
    if args.nightly:
        nightly(work, args.nights, args.seeds)
        return
    for name, extra in RUNS.items():
        out = work / name
        first, second = (run(out, out / f"corpus-{i}", extra) for i in (1, 2))
        same = first["verdicts"] == second["verdicts"] and found(first) == found(second)
        print(f"{name}: {first['cases']} cases in {first['seconds']:.1f} s, again in {second['seconds']:.1f} s: "
              f"{first['seconds'] / second['seconds']:.1f}x; same verdicts and findings: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
