"""The positional gate's misses of ``--check-gate`` runs as TPU benchmarks: ``python
bench/realistic_misses.py OUT_DIR RUN_DIR [RUN_DIR ...]``.

Every audited case where Helion's positional gate chose the variant whose static schedule is
longer by more than the margin, on some generation the run audited, becomes a case file of
``OUT_DIR`` (``tests/benchmarks/realistic/``), one per structure (dtype, inputs, graph, block):
its first instance, with ``missed`` naming the generations where the gate missed, for
``tests/benchmarks/test_realistic_misses.py`` to time on a TPU host. Files are named for what
moved where (``seq-major-to-sublane-dot-bfloat16-b128``), numbered in the order found; the
folder is rewritten whole, so the same runs give the same files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

FROM = {0: "seq-major", 1: "head-major"}
"""The tile's dim at the load: the sequence-major ``[T, H, D]`` layout or the head-major ``[H, T, D]``."""

TO = {"1": "sublane", "2": "lane"}
"""The tile's dim at a rank-3 consumer: the sublanes or the lanes."""


def structure(case_file: dict[str, Any]) -> str:
    """What makes two cases one kernel: everything but the name, the seed and the lengths."""
    blocks = {t: tile["block"] for t, tile in case_file["tiles"].items()}
    return json.dumps([case_file["dtype"], case_file["inputs"], case_file["graph"], blocks], sort_keys=True)


def missed(record: dict[str, Any]) -> list[str]:
    """The generations where the positional gate's choice cost more than the margin."""
    from fuzzpass.judge.gate import GENERATIONS, agrees

    return [gen for gen in GENERATIONS if agrees(record, gen, "positional") is False]


def stem(record: dict[str, Any]) -> str:
    p, case_file = record["pattern"], record["case_file"]
    consumer = "dot" if p["consumer"] == "dot_general" else p["consumer"]
    moved = f"{FROM.get(p['at_load'], 'dim' + str(p['at_load']))}-to-{TO.get(p['at_consumer'], p['at_consumer'])}"
    block = "-".join(f"b{t['block']}" for t in case_file["tiles"].values())
    return f"{moved}-{consumer}-{case_file['dtype']}-{block}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="the folder to write (tests/benchmarks/realistic)")
    parser.add_argument("runs", type=Path, nargs="+", help="--check-gate runs' --out directories")
    args = parser.parse_args()
    from fuzzpass.judge.gate import GENERATIONS
    from fuzzpass.perf.gate_report import replayable

    found: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for run in args.runs:
        for record in replayable(run):
            if gens := missed(record):
                key = structure(record["case_file"])
                first, known = found.get(key, (record, []))
                found[key] = (first, [g for g in GENERATIONS if g in known or g in gens])
    args.out.mkdir(parents=True, exist_ok=True)
    for old in args.out.glob("*.json"):
        old.unlink()
    for i, (record, gens) in enumerate(found.values()):
        name = f"{i:02d}-{stem(record)}"
        case_file = dict(record["case_file"], name=name, missed=gens)
        (args.out / f"{name}.json").write_text(json.dumps(case_file, indent=1) + "\n")
    print(f"{len(found)} structures missed, written to {args.out}")


if __name__ == "__main__":
    main()
