"""What ``fuzzpass corpus`` leaves under ``--out`` and prints.

- ``kernels.jsonl``: one line per kernel call checked or kernel skipped (its event);
- ``summary.json``: ``command: corpus``, the versions, and ``corpus``: the counts;
- ``cases/<kernel>.json``: each fired kernel the case language can state, also added to the
  example database's seeds so that ``fuzzpass run`` with the same ``--examples`` mutates it;
- ``findings/<signature>/``: each finding of Helion's, with the kernel's sources, the pass's
  diff, its case where it has one and the command that reruns it;
- ``report.html``: the morning report, with its "Real kernels" section.
"""

from __future__ import annotations

import json
from typing import Any

from fuzzpass.core.files import write_atomically
from fuzzpass.fuzz.examples import add_seeds, shown
from fuzzpass.fuzz.options import examples_location
from fuzzpass.fuzz.summary import versions
from fuzzpass.kernels.campaign import CorpusOptions, compiled_on, gate_agrees, write_findings


def write_results(options: CorpusOptions, corpus: dict[str, Any]) -> dict[str, Any]:
    """Write everything (see the module) and return ``summary.json``'s content."""
    from fuzzpass.report.write import write_report

    events = corpus.pop("events")
    out = options.out
    write_atomically(out / "kernels.jsonl", "".join(json.dumps(e, default=str) + "\n" for e in events))
    cases = {
        e["kernel"].replace(".", "-"): e["case"]["text"]
        for e in events
        if e.get("status") == "checked" and "text" in (e.get("case") or {})
    }
    for name, text in cases.items():
        write_atomically(out / "cases" / f"{name}.json", text)
    location = options.examples or examples_location(out, None)
    if cases:
        add_seeds(location, cases)
    corpus["findings"] = write_findings(out, events)
    corpus["seeds"] = {"examples": shown(location), "added": sorted(cases)}
    summary = {
        "command": "corpus",
        "versions": dict(versions()),
        "generations": list(options.generations),
        "gate_generations": list(options.gate) if options.gate is not None else None,
        "corpus": corpus,
    }
    write_atomically(out / "summary.json", json.dumps(summary, indent=2, default=str))
    write_report(out)
    return summary


def table(events: list[dict[str, Any]], generations: tuple[str, ...], judged: tuple[str, ...] | None) -> list[str]:
    """One row per kernel call checked: kernel, pass fired, numerics, compile per generation,
    gate, verdict; fired kernels first. A cell states a result only where it was measured:
    ``not run`` where it was not (the why is in ``kernels.jsonl`` and the report)."""
    checked = [e for e in events if e.get("status") == "checked"]
    checked.sort(key=lambda e: (not e["fired"], e["kernel"]))
    width = max([len("kernel"), *(len(e["kernel"]) for e in checked)]) + 2
    head = f"{'kernel':<{width}}{'fired':>6}  {'numerics':<9}" + "".join(f"{g:>9}" for g in generations)
    lines = [head + f"  {'gate':<8} verdict"]
    for e in checked:
        numerics = e.get("numerics_result", "-").split(":")[0]
        compiled = "".join(f"{_compiled(e, g):>9}" for g in generations)
        gate = gate_cell(e, judged)
        fired = "yes" if e["fired"] else "no"
        lines.append(f"{e['kernel']:<{width}}{fired:>6}  {numerics:<9}{compiled}  {gate:<8} {e['verdict']}")
    return lines


def gate_cell(event: dict[str, Any], judged: tuple[str, ...] | None) -> str:
    """``agrees`` where every judged generation's schedules were measured and deferring cost
    no more; ``COSTS`` where one cost more; ``not run`` where the pass fired and no judged
    generation has both schedules; ``-`` where there is nothing to audit."""
    if not event["fired"] or judged is None:
        return "-"
    gate = event.get("gate")
    results = [gate_agrees(gate, g) for g in judged] if gate else []
    if any(r is False for r in results):
        return "COSTS"
    if results and all(r is True for r in results):
        return "agrees"
    return "partial" if any(r is True for r in results) else "not run"


def _compiled(event: dict[str, Any], gen: str) -> str:
    """``-`` where the pass did not fire (nothing of its to compile), ``ok`` (compiled), ``not
    run`` (not built here, or not asked), or which of the two kernels the compiler rejected
    (``off-rej``, ``on-rej``, ``both-rej``)."""
    if not event["fired"]:
        return "-"
    outcome = compiled_on(event, gen)
    if outcome != "rejected":
        return {"compiled": "ok"}.get(outcome, outcome)
    per_mode = event["compiles"][gen]
    rejected = [m for m, c in per_mode.items() if c["ok"] is False]
    return "both-rej" if len(rejected) == 2 else f"{rejected[0]}-rej"


def closing(summary: dict[str, Any]) -> list[str]:
    """The counts under the table (what the issue asks a closing note to give)."""
    c = summary["corpus"]
    k = c["kernels"]
    lines = [
        f"{c['files']} files ({sum(c['files_skipped'].values())} not imported), "
        f"entries {', '.join(f'{n} {v}' for n, v in sorted(c['entries'].items())) or 'none'}",
        f"kernels: {k['found']} found, {k['bound']} bound ({k['calls']} calls checked), "
        f"{k['found'] - k['bound']} skipped; the pass fired in {k['fired']}; numerics agree in "
        f"{k['numerics_agree']}, differ in {k['numerics_differ']}, not run in {sum(k['numerics_not_run'].values())}",
    ]
    lines += [f"  numerics {why} ({n})" for why, n in k["numerics_not_run"].items()]
    lines += [f"  entry lost: {lost}" for lost in c["entries_lost"]]
    for reason, n in sorted(k["skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  skipped {n}: {reason}")
    for reason, n in sorted(c["files_skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  file not imported {n}: {reason}")
    compiled = "; ".join(
        f"{g} " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(v.items())) for g, v in k["compile"].items()
    )
    lines.append(f"compiles where the pass fired (both kernels): {compiled or 'not asked (--tpu none)'}")
    if k["gate"]["audited"]:
        gate = k["gate"]
        agree = ", ".join(
            f"{g} {n}/{gate['audited']}"
            + (f" ({gate['not_audited'][g]} not run)" if gate["not_audited"].get(g) else "")
            for g, n in gate["agrees"].items()
        )
        lines.append(f"gate audit where the pass fired: agrees {agree}")
    lines.append(
        f"as cases: {k['expressible']} of {k['fired']} fired kernels, added as seeds to {c['seeds']['examples']}"
    )
    for reason, n in k["not_expressible"].items():
        lines.append(f"  not a case {n}: {reason}")
    share = ", ".join(f"{s} {v:.0%}" for s, v in c["share"].items())
    lines.append(f"{c['seconds']} s, {c['kernels_per_second']} kernels/s; time in {share}")
    findings = c["findings"]
    lines.append(f"{len(findings)} findings" if findings else "no findings")
    lines += [f"  {f['signature']}  ({f['file']}; {f['directory']})" for f in findings]
    return lines
