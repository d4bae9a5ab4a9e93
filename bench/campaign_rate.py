"""A candidate pass's campaign against a shipped mutant's, in one sitting (issue 34).

Three measurements, each on the same seed, policy and jobs:

1. **Rate.** ``fuzzpass mutants --pass``'s options over a fixed budget for a candidate that is
   the reference pass as a file (it never dies, so the budget is spent), with its forced kernel
   checked as a candidate's campaign checks it (``Config.check_forced``), against the same
   run as a shipped mutant's campaign has it (no forced check). Target: the candidate's
   cases/s at least 0.8 of the other's.
2. **The same bug, two ways.** Each shipped mutant below written again as a candidate file, its
   kill time and cases beside the shipped mutant's, under the shipped mutant's policy.
3. **A bug only in the forced kernel**, deferring past a second use, as a candidate under the
   default policy (``mixed``): its kill time (target: within 60 s).

    python bench/campaign_rate.py [--seconds 60] [--jobs 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from fuzzpass.fuzz.campaign import campaign, options_for
from fuzzpass.fuzz.options import Budget
from fuzzpass.fuzz.run import run
from fuzzpass.judge.candidate import Candidate, parse
from fuzzpass.judge.checked import Config

CANDIDATES = '''
from reference.defer import MaskDeferral


class SameAsReference(MaskDeferral):
    """The reference pass, as a candidate file: it never dies."""


class ConsumersMissingOne(MaskDeferral):
    """Records one discharging mask too few where a tile has several (shipped:
    consumers-missing-one): a fan-out whose consumers sit at different positions."""

    def remask_consumers(self, node, tile):
        found = super().remask_consumers(node, tile)
        return found[:-1] if len(found) > 1 else found


class IgnoreSecondUse(MaskDeferral):
    """One use reaching a remask is enough (shipped: ignore-second-use)."""

    def all_uses_remask(self, node, tile, memo):
        return any(self.use_remasks(user, node, tile, memo) for user in node.users)


class ForcedIgnoresSecondUse(MaskDeferral):
    """Its forced kernel alone defers past a second use: the pass as it decides is right."""

    def all_uses_remask(self, node, tile, memo):
        if self.mode == "force":
            return any(self.use_remasks(user, node, tile, memo) for user in node.users)
        return super().all_uses_remask(node, tile, memo)
'''

SAME_BUG = {"ConsumersMissingOne": "consumers-missing-one", "IgnoreSecondUse": "ignore-second-use"}
"""Candidate class -> the shipped mutant with the same bug."""


def rate(config: Config, seconds: float, jobs: int, out: Path) -> tuple[int, float]:
    """Cases and seconds of one campaign-style run of ``config`` that no kill stops."""
    options = options_for(config, Budget(seconds=seconds), jobs, out)
    start = time.perf_counter()
    result = run(options)
    return result.cases, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="campaign-rate-") as tmp:
        root = Path(tmp)
        file = root / "candidates.py"
        file.write_text(CANDIDATES)
        same = parse(f"{file}:SameAsReference")
        shipped_like = Config(policy="mixed", seed=args.seed)
        candidate = Config(policy="mixed", seed=args.seed, candidate=same, check_forced=True)
        cases_s, secs_s = rate(shipped_like, args.seconds, args.jobs, root / "shipped")
        cases_c, secs_c = rate(candidate, args.seconds, args.jobs, root / "candidate")
        for what, cases, secs in (("shipped mutant's run", cases_s, secs_s), ("candidate's campaign", cases_c, secs_c)):
            print(f"{what:<22} {cases} cases in {secs:.1f} s, {cases / secs:.2f} cases/s")
        print(f"ratio candidate / shipped: {(cases_c / secs_c) / (cases_s / secs_s):.2f} (target >= 0.8)")

        def kill(mutant: str | Candidate, policy: str | None) -> dict[str, Any]:
            budget = Budget(seconds=args.seconds)
            (row,) = campaign([mutant], policy=policy, seed=args.seed, budget=budget, jobs=args.jobs,
                              out=root / "kills", minimize_seconds=None, log=lambda _: None)  # fmt: skip
            return row

        from fuzzpass.judge.mutants import MUTANTS

        for cls, shipped in SAME_BUG.items():
            policy = MUTANTS[shipped].policy
            a, b = kill(shipped, policy), kill(parse(f"{file}:{cls}"), policy)
            for name, row in ((shipped, a), (cls, b)):
                state = f"killed in {row['seconds']} s, {row['cases']} cases" if row["killed"] else "SURVIVED"
                print(f"{name:<24} policy {policy:<11} {state}  {row['finding'] or ''}")
        row = kill(parse(f"{file}:ForcedIgnoresSecondUse"), None)
        state = f"killed in {row['seconds']} s, {row['cases']} cases" if row["killed"] else "SURVIVED"
        print(f"{'ForcedIgnoresSecondUse':<24} policy {'mixed':<11} {state}  {row['finding'] or ''} (target: 60 s)")


if __name__ == "__main__":
    main()
