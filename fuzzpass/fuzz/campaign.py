"""``fuzzpass mutants``: each deliberately broken pass fuzzed until a finding blames the pass.

A mutant counts as killed only by a finding that blames the pass (``Signature.blames_pass``):
a harness crash or a baseline bug on the way does not. A candidate pass, and a shipped mutant
whose bug only the gate audit's kernels show, have their forced kernel checked too where it is
not the reference's (``Config.check_forced``): that is what the gate audit adds to the plain
check when it judges no generation, without its TPU compiles, so a candidate's campaign keeps
the rate of a shipped mutant's. Each mutant gets its own run, with the
same seed, so the kill times of two versions of the harness compare.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fuzzpass.fuzz.options import TIMEOUT, Budget, Options
from fuzzpass.fuzz.run import run
from fuzzpass.judge.candidate import Candidate
from fuzzpass.judge.checked import Config
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.repro.minimize import minimize_beside


def campaign(
    mutants: Sequence[str | Candidate],
    *,
    policy: str | None,
    seed: int,
    budget: Budget,
    jobs: int,
    out: Path | None,
    minimize_seconds: float | None,
    log: Callable[[str], None],
) -> list[dict[str, Any]]:
    """One row per mutant (a shipped one's name, or a candidate pass from a file): killed or
    not, when, after how many cases, by which finding (and, with ``minimize_seconds``, the first
    finding's size before and after minimizing). ``policy`` None: each shipped mutant's own
    (:attr:`~fuzzpass.judge.mutants.Mutant.policy`), ``mixed`` for a candidate."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="fuzzpass-mutants-") as tmp:
        root = out or Path(tmp)
        for mutant in mutants:
            if isinstance(mutant, Candidate):
                name = mutant.label
                config = Config(policy=policy or "mixed", seed=seed, candidate=mutant, check_forced=True)
                where = root / mutant.name
            else:
                name = mutant
                shipped = MUTANTS[name]
                config = Config(
                    policy=policy or shipped.policy,
                    backend=shipped.oracle,
                    mutant=name,
                    seed=seed,
                    check_forced=shipped.audited,
                )
                where = root / name
            options = options_for(config, budget, jobs, where)
            result = run(options)
            kill = next((f for f in result.findings if f.signature.blames_pass), None)
            row: dict[str, Any] = {
                "mutant": name,
                "killed": kill is not None,
                "seconds": round(kill.first_at if kill else result.seconds, 2),
                "cases": result.cases,
                "finding": str(kill.signature) if kill else None,
            }
            if minimize_seconds and kill is not None:
                row.update(minimize_beside(kill.case, config, minimize_seconds))
            rows.append(row)
            log(
                f"{name:<18} {'killed' if kill else 'SURVIVED':<9} {row['seconds']:>7.1f} s {result.cases:>6} cases  "
                f"{row['finding'] or ''}"
            )
    return rows


def options_for(config: Config, budget: Budget, jobs: int, where: Path) -> Options:
    """One mutant's run: it stops at the kill and shrinks nothing."""
    return Options(config, budget, jobs, where, TIMEOUT, stop_at_kill=True, progress=False, minimize_seconds=0)


def table(rows: list[dict[str, Any]], minimized: bool) -> list[str]:
    """The closing table: one line per mutant, with sizes where it was minimized."""
    extra = f"{'nodes':>14}{'rank':>8}{'min s':>8}" if minimized else ""
    lines = [f"{'mutant':<18}{'killed':>8}{'seconds':>10}{'cases':>8}{extra}"]
    for row in rows:
        line = f"{row['mutant']:<18}{'yes' if row['killed'] else 'NO':>8}{row['seconds']:>10.1f}{row['cases']:>8}"
        if "nodes_after" in row:
            line += f"{row['nodes_before']:>8} -> {row['nodes_after']:<3}{row['rank_before']:>3} -> {row['rank_after']}"
            line += f"{row['minimize_seconds']:>8.1f}"
        lines.append(line)
    return lines
