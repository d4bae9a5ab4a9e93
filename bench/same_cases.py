"""The harness's speed on a fixed set of cases, in one process: ``python bench/same_cases.py
[SEGMENTS] [SEED]`` (default 15 and 1).

A run's cases/s depends on what its workers happen to draw in their time budget; this checks
exactly the cases of the first SEGMENTS Hypothesis segments of workers 0 and 1 of a
``fuzzpass run --seed SEED`` (worker 1 with its swarm subset), with nothing kept on disk, so
two versions of the harness can be compared on the same work. Prints cases, seconds and
cases/s.
"""

from __future__ import annotations

import sys
import time

from fuzzpass.backends.environment import start_jax
from fuzzpass.fuzz.explorer import Explorer, derive_seed, swarm_of
from fuzzpass.judge.checked import Checked, Config


def main() -> None:
    segments = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    start_jax()
    checked = 0

    def count(_: Checked) -> None:
        nonlocal checked
        checked += 1

    start = time.perf_counter()
    for worker in (0, 1):  # as fuzz.run starts them
        explorer = Explorer(Config(seed=seed), swarm_of(seed, worker, 0), count)
        for number in range(segments):
            explorer.segment(derive_seed(seed, worker, 0, number))
    seconds = time.perf_counter() - start
    print(f"{checked} cases in {seconds:.1f} s: {checked / seconds:.2f} cases/s")


if __name__ == "__main__":
    main()
