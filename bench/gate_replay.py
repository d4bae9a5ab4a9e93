"""A gate of ``reference.gates`` against the static schedules a run already recorded:
``python bench/gate_replay.py RUN_DIR GATE [GATE ...]``.

A ``--check-gate`` run's ``gate.jsonl`` holds, per audited case, its case file and the eager
and forced kernels' bundles per generation. Replaying it compiles only what a gate chooses
(per generation for a gate that reads the target, a ``targeted`` gate of ``reference.gates``), reading the
run's own compile outcomes first (``RUN_DIR/cache/outcomes``), and prints how often each gate
agrees on v5e, v6e and tpu7x, and the cases where it does not. The agreement is
``fuzzpass.judge.gate.agrees``'s, as ``gate-report`` counts it; a gate fitted on one run is
measured on another (a fresh ``run --check-gate --gate G``), never on its own data alone.
"""

from __future__ import annotations

import argparse
from pathlib import Path

JUDGED = ("v5e", "v6e", "tpu7x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a fuzzpass run --check-gate --out directory")
    parser.add_argument("gates", nargs="+", help="names of reference.gates.GATES")
    args = parser.parse_args()

    from fuzzpass.backends import outcomes, schedule

    schedule.enable()  # before JAX starts libtpu
    outcomes.keep_in(args.run / "cache" / "outcomes")

    from fuzzpass.backends import tpu_aot
    from fuzzpass.core.case import parse_case
    from fuzzpass.core.data import draw
    from fuzzpass.judge.gate import agrees, choice_of
    from fuzzpass.judge.gate import variants_of as gate_variants
    from fuzzpass.perf.gate_report import replayable

    records = replayable(args.run)
    for gate in args.gates:
        agreed = dict.fromkeys(JUDGED, 0)
        judged = dict.fromkeys(JUDGED, 0)
        wrong = []
        for r in records:
            case = parse_case(r["case_file"])
            data = draw(case, "nan")
            per_gen = gate_variants(case, gate, JUDGED)
            entry = {"choice": choice_of(per_gen[JUDGED[0]]), "choices": {}, "counts": {}}
            for gen in (g for g in JUDGED if g in r["counts"]):  # the generations the run audited
                entry["choices"][gen] = choice_of(per_gen[gen])
                entry["counts"][gen] = tpu_aot.compile_for(per_gen[gen].source, data, case.spec.dtype, gen).bundles
            replayed = dict(r, gates={gate: entry})
            for gen in JUDGED:
                verdict = agrees(replayed, gen, gate)
                if verdict is None:
                    continue
                judged[gen] += 1
                agreed[gen] += verdict
                if not verdict:
                    c = r["counts"][gen]
                    wrong.append(f"  {gen:<6} {r['case']}: {entry['choices'][gen]} {entry['counts'][gen]}, "
                                 f"eager {c['eager']}, forced {c['forced']}")  # fmt: skip
        cells = "  ".join(f"{g} {agreed[g]}/{judged[g]} ({agreed[g] / max(judged[g], 1):.1%})" for g in JUDGED)
        print(f"{gate}: {cells}")
        print("\n".join(wrong))


if __name__ == "__main__":
    main()
