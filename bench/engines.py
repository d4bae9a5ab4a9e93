"""The run engine's speed as ratios measured in one sitting (issue 14's numbers).

    python bench/engines.py [--seconds 120] [--ray-seconds 60] [--naive ../shared/bench/naive_pairs.py]

1. the naive harness's pairs/s (``naive_pairs.py``), then ``fuzzpass run --budget S --jobs 2
   --seed 1``: fuzzpass's cases/s over the naive pairs/s;
2. the same command again under the same ``--out``: the rerun's cases/s over the first's (the
   lasting corpus, and JAX's compilation cache where it can serve the backend);
3. ``fuzzpass run --ray`` on a local two-node cluster (``ray.cluster_utils.Cluster``, one CPU
   per node, no dashboard: a test cluster needs none, and on 2 cores it costs cases) against the process
   engine, same budget and seed: cases/s over cases/s.

Absolute rates move 2x between machines here; each ratio is of two runs made minutes apart.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path


def fuzz(out: Path, seconds: float, *extra: str) -> float:
    """cases/s of one ``fuzzpass run`` (interpret backend, two workers, seed 1)."""
    command = [sys.executable, "-m", "fuzzpass", "run", "--budget", f"{seconds:g}", "--jobs", "2", "--seed", "1",
               "--out", str(out), "--quiet", "--no-minimize", *extra]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True)
    summary = json.loads((out / "summary.json").read_text())
    return summary["cases"] / summary["seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--ray-seconds", type=float, default=60)
    naive_pairs = Path(__file__).resolve().parents[2] / "shared" / "bench" / "naive_pairs.py"
    parser.add_argument("--naive", type=Path, default=naive_pairs)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fuzzpass-engines-"))

    naive_out = subprocess.run([sys.executable, str(args.naive)], capture_output=True, text=True).stdout
    naive = float(re.search(r"naive pairs/s\s+([0-9.]+)", naive_out)[1])  # type: ignore[index]
    if args.seconds:
        first = fuzz(work / "same", args.seconds)
        rerun = fuzz(work / "same", args.seconds)
        print(f"naive pairs/s {naive:.2f}; fuzzpass {first:.2f} cases/s: {first / naive:.1f}x the naive harness")
        print(f"rerun under the same --out: {rerun:.2f} cases/s, {rerun / first:.2f}x the first run")

    from ray.cluster_utils import Cluster

    quiet = {"include_dashboard": False, "include_log_monitor": False}  # a test cluster streams no logs
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, **quiet})
    cluster.add_node(num_cpus=1, include_log_monitor=False)
    cluster.wait_for_nodes()
    try:
        on_ray = fuzz(work / "ray", args.ray_seconds, "--ray", cluster.address)
    finally:
        cluster.shutdown()
    processes = fuzz(work / "processes", args.ray_seconds)
    print(f"--ray on a local two-node cluster: {on_ray:.2f} cases/s; processes: {processes:.2f} cases/s: "
          f"{on_ray / processes:.0%}")  # fmt: skip


if __name__ == "__main__":
    main()
