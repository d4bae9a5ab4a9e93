"""``fuzzpass gate-report``: what many gate audits say, per generation and pattern.

Reads the ``gate.jsonl`` a ``run --check-gate`` writes (one audited case a line, as
:meth:`fuzzpass.judge.gate.GateRecord.to_json` gives it): how often deferral pays and how
often the pass's gate agrees with the static schedules. Static schedules, not timings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fuzzpass.judge.gate import GENERATIONS, MARGIN, agrees


def load(path: Path) -> list[dict[str, Any]]:
    """The audited cases of a run's ``gate.jsonl``."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def pays(record: dict[str, Any], gen: str) -> bool | None:
    """Whether forcing deferral schedules fewer bundles than the eager kernel on ``gen``."""
    counts = record["counts"][gen]
    if counts["forced"] is None or counts["eager"] is None:
        return None
    return counts["forced"] < counts["eager"]


def report(records: list[dict[str, Any]]) -> list[str]:
    """Per generation, then per pattern: cases, how often deferral pays, how often the gate
    agrees. Static schedules, not timings."""
    lines = ["static schedules (scheduled bundles of one grid step), not timings; margin "
             f"{MARGIN:.0%}", ""]  # fmt: skip
    for gen in GENERATIONS:
        rows: dict[str, list[int]] = {}
        for r in records:
            p = r["pattern"]
            key = f"{p['consumer']:<12} rank {p['rank']}  tile {p['at_load']} -> {p['at_consumer']}"
            paid, agreed = pays(r, gen), agrees(r, gen)
            row = rows.setdefault(key, [0, 0, 0, 0])
            row[0] += 1
            row[1] += paid is None or agreed is None
            row[2] += bool(paid)
            row[3] += bool(agreed)
        total = [sum(col) for col in zip(*rows.values(), strict=True)] if rows else [0, 0, 0, 0]
        compiled = total[0] - total[1]
        lines.append(
            f"{gen}: {total[0]} cases ({total[1]} not compiled); deferral pays in {total[2]} "
            f"({total[2] / max(compiled, 1):.0%}); the gate agrees in {total[3]} ({total[3] / max(compiled, 1):.0%})"
        )
        lines.append(f"  {'pattern':<40}{'cases':>7}{'compiled':>10}{'pays':>7}{'agrees':>8}")
        for key, (n, rejected, paid, agreed) in sorted(rows.items(), key=lambda kv: -kv[1][0]):
            lines.append(f"  {key:<40}{n:>7}{n - rejected:>10}{paid:>7}{agreed:>8}")
        lines.append("")
    return lines
