"""``fuzzpass gate-report``: what many gate audits say, per generation and pattern.

Reads the ``gate.jsonl`` a ``run --check-gate`` writes (one audited case a line, as
:meth:`fuzzpass.judge.gate.GateRecord.to_json` gives it; with ``--backend helion``, Helion's
audit of the same case on the next line): how often deferral pays and how often each gate
agrees with the static schedules. Static schedules, not timings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fuzzpass.judge.gate import GENERATIONS, MARGIN, agrees, choice_on


def load(path: Path) -> list[dict[str, Any]]:
    """The audited cases of a run's ``gate.jsonl``."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def replayable(run: Path) -> list[dict[str, Any]]:
    """The reference's audited cases of a run (``RUN/gate.jsonl``) that carry their case file:
    what the scripts of ``bench/`` compile again, fit on or keep as benchmarks."""
    return [r for r in load(run / "gate.jsonl") if r.get("by", "reference") == "reference" and "case_file" in r]


def pays(record: dict[str, Any], gen: str) -> bool | None:
    """Whether forcing deferral schedules fewer bundles than the eager kernel on ``gen``; None
    where the audit did not compile both there."""
    counts = record["counts"].get(gen)
    if counts is None or counts["forced"] is None or counts["eager"] is None:
        return None
    return counts["forced"] < counts["eager"]


BY = ("reference", "helion")
"""Whose gates a run audits: the reference pass's, and production Helion's on its own kernels
(``--check-gate --backend helion``)."""


def gate_names(records: list[dict[str, Any]]) -> list[str]:
    """The gates of ``reference.gates`` the audits compared (none in an older ``gate.jsonl``)."""
    return list(dict.fromkeys(g for r in records for g in r.get("gates", {})))


def report(records: list[dict[str, Any]]) -> list[str]:
    """Per generation, then per pattern: cases, how often deferral pays, how often the gate
    agrees; the reference's gate and, where audited, Helion's beside it on the same patterns;
    a column per gate of ``reference.gates`` where the audit compared them, and the cases
    where those gates choose differently. Static schedules, not timings."""
    lines = ["static schedules (scheduled bundles of one grid step), not timings; margin "
             f"{MARGIN:.0%}", ""]  # fmt: skip
    present = [by for by in BY if any(r.get("by", "reference") == by for r in records)] or ["reference"]
    gates = gate_names(records)
    compiled_for = judged(records)
    for gen in GENERATIONS:
        if gen not in compiled_for:
            lines += [f"{gen}: not run: the audit judged {', '.join(compiled_for)} (--tpu)", ""]
            continue
        rows: dict[str, dict[str, list[int]]] = {}  # pattern -> by -> [cases, not compiled, pays, agrees, per gate]
        for r in records:
            p = r["pattern"]
            key = f"{p['consumer']:<12} rank {p['rank']}  tile {p['at_load']} -> {p['at_consumer']}"
            paid, agreed = pays(r, gen), agrees(r, gen)
            row = rows.setdefault(key, {}).setdefault(r.get("by", "reference"), [0] * (4 + len(gates)))
            row[0] += 1
            row[1] += paid is None or agreed is None
            row[2] += bool(paid)
            row[3] += bool(agreed)
            for k, g in enumerate(gates):
                row[4 + k] += bool(agrees(r, gen, g))
        for by in present:
            counts = [row[by] for row in rows.values() if by in row]
            total = [sum(col) for col in zip(*counts, strict=True)] if counts else [0] * (4 + len(gates))
            compiled = total[0] - total[1]
            who = f"{gen}: " if by == present[0] else " " * (len(gen) + 2)
            lines.append(
                f"{who}{by + ': ' if len(present) > 1 else ''}{total[0]} cases ({total[1]} not compiled); deferral "
                f"pays in {total[2]} ({total[2] / max(compiled, 1):.0%}); the gate agrees in {total[3]} "
                f"({total[3] / max(compiled, 1):.0%})"
            )
            if by == "reference" and gates:
                lines.append(
                    " " * (len(gen) + 2)
                    + "; ".join(
                        f"{g} gate agrees in {total[4 + k]} ({total[4 + k] / max(compiled, 1):.1%})"
                        for k, g in enumerate(gates)
                    )
                )
        widths = [max(8, len(g) + 2) for g in gates]
        width = 25 + sum(widths)
        columns = f"{'cases':>7}{'compiled':>10}{'pays':>7}{'agrees':>8}" + "".join(
            f"{g:>{w}}" for g, w in zip(gates, widths, strict=True)
        )
        header = columns * len(present)
        if len(present) > 1:
            lines.append((f"  {'':<40}" + "".join(f"{'| ' + by:<{width + 7}}" for by in present)).rstrip())
        lines.append(f"  {'pattern':<40}{header}")
        for key, row in sorted(rows.items(), key=lambda kv: -max(c[0] for c in kv[1].values())):
            cells = ""
            for by in present:
                if by in row:
                    n, rejected, paid, agreed, *per_gate = row[by]
                    cells += f"{n:>7}{n - rejected:>10}{paid:>7}{agreed:>8}" + "".join(
                        f"{a:>{w}}" for a, w in zip(per_gate, widths, strict=True)
                    )
                else:
                    cells += f"{'-':>7}{'':>{width}}"
            lines.append(f"  {key:<40}{cells}".rstrip())
        lines.append("")
    if len(gates) > 1:
        lines += differing(records, gates)
    return lines


def judged(records: list[dict[str, Any]]) -> list[str]:
    """The generations the audits compiled for, which are those the run judged (``--tpu``)."""
    return [g for g in GENERATIONS if any(g in r["counts"] for r in records)]


def differing(records: list[dict[str, Any]], gates: list[str]) -> list[str]:
    """The audited cases where the gates chose differently: per generation, the eager and
    forced kernels' bundles and which gate agrees with them."""
    split = [r for r in records if len({choices(r["gates"][g]) for g in gates if g in r["gates"]}) > 1]
    lines = [f"cases where the gates choose differently: {len(split)} of {len(records)}"]
    for r in split:
        chosen = ", ".join(f"{g} {choices(r['gates'][g])}" for g in gates if g in r["gates"])
        p = r["pattern"]
        lines.append(f"  {r.get('case', '?')}: {p['consumer']} rank {p['rank']} tile {p['at_load']} -> "
                     f"{p['at_consumer']}; {chosen}")  # fmt: skip
        for gen in GENERATIONS:
            c = r["counts"].get(gen, {})
            if c.get("eager") is None or c.get("forced") is None:
                continue
            right = [g for g in gates if agrees(r, gen, g)]
            lines.append(
                f"    {gen:<6} eager {c['eager']:>6}  forced {c['forced']:>6}  agrees: {', '.join(right) or 'neither'}"
            )
    return [*lines, ""]


def choices(entry: dict[str, Any]) -> str:
    """A gate's choice on a case: one word, or per generation where the gate read it."""
    per_gen = {gen: choice_on(entry, gen) for gen in GENERATIONS if gen in entry.get("counts", {})}
    if len(set(per_gen.values())) <= 1:
        return entry["choice"] if not per_gen else next(iter(per_gen.values()))
    return " ".join(f"{gen}:{c}" for gen, c in per_gen.items())
