"""What ``fuzzpass corpus`` leaves under ``--out`` and prints.

- ``kernels.jsonl``: one line per kernel call checked or kernel skipped (its event);
- ``summary.json``: ``command: corpus``, the versions, and ``corpus``: the counts;
- ``cases/<kernel>.json``: each fired kernel the case language can state, also added to the
  corpus's seeds so that ``fuzzpass run`` under the same corpus mutates it;
- ``findings/<signature>/``: each finding of Helion's, with the kernel's sources, the pass's
  diff, its case where it has one and the command that reruns it;
- ``report.html``: the morning report, with its "Real kernels" section.
"""

from __future__ import annotations

import json
from typing import Any

from fuzzpass.core.files import write_atomically
from fuzzpass.fuzz.corpus import add_seeds, shown
from fuzzpass.fuzz.summary import versions
from fuzzpass.judge.gate import agrees
from fuzzpass.kernels.campaign import CorpusOptions, write_findings


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
    location = options.corpus or str(out / "corpus")
    if cases:
        add_seeds(location, cases)
    corpus["findings"] = write_findings(out, events)
    corpus["seeds"] = {"corpus": shown(location), "added": sorted(cases)}
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


def table(events: list[dict[str, Any]], generations: tuple[str, ...]) -> list[str]:
    """One row per kernel call checked: kernel, pass fired, numerics, compile per generation,
    gate, verdict; fired kernels first."""
    checked = [e for e in events if e.get("status") == "checked"]
    checked.sort(key=lambda e: (not e["fired"], e["kernel"]))
    width = max([len("kernel"), *(len(e["kernel"]) for e in checked)]) + 2
    head = f"{'kernel':<{width}}{'fired':>6}  {'numerics':<9}" + "".join(f"{g:>9}" for g in generations)
    lines = [head + f"  {'gate':<7} verdict"]
    for e in checked:
        numerics = "-" if not e["fired"] else ("differ" if _wrong(e) else "agree")
        compiled = "".join(f"{_compiled(e['compiles'].get(g), e['fired']):>9}" for g in generations)
        gate = "-" if not e.get("gate") else ("agrees" if all(_agrees(e["gate"], g) for g in generations) else "COSTS")
        fired = "yes" if e["fired"] else "no"
        lines.append(f"{e['kernel']:<{width}}{fired:>6}  {numerics:<9}{compiled}  {gate:<7} {e['verdict']}")
    return lines


def _wrong(event: dict[str, Any]) -> bool:
    return any(f["kind"] in ("helion-mismatch", "helion-crash") for f in event.get("findings", []))


def _agrees(gate: dict[str, Any], gen: str) -> bool:
    return gen not in gate["counts"] or agrees(gate, gen) is not False


def _compiled(per_mode: dict[str, Any] | None, fired: bool) -> str:
    """``ok`` (compiled), ``rejected`` (the one kernel, where the pass changed nothing), or
    which of the two kernels was rejected (``off-rej``, ``on-rej``, ``both-rej``)."""
    if not per_mode:
        return "-"
    rejected = [m for m, c in per_mode.items() if not c["ok"]]
    if not rejected:
        return "ok"
    if not fired:
        return "rejected"
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
        f"{k['numerics_agree']}, differ in {k['numerics_differ']}",
    ]
    lines += [f"  entry lost: {lost}" for lost in c["entries_lost"]]
    for reason, n in sorted(k["skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  skipped {n}: {reason}")
    for reason, n in sorted(c["files_skipped"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  file not imported {n}: {reason}")
    compiled = ", ".join(f"{g} {v['compiled']}/{v['compiled'] + v['rejected']}" for g, v in k["compile"].items())
    lines.append(f"compiled (both kernels): {compiled or 'not asked (--tpu none)'}")
    if k["gate"]["audited"]:
        agree = ", ".join(f"{g} {n}/{k['gate']['audited']}" for g, n in k["gate"]["agrees"].items())
        lines.append(f"gate audit where the pass fired: agrees {agree}")
    lines.append(
        f"as cases: {k['expressible']} of {k['fired']} fired kernels, added as seeds to {c['seeds']['corpus']}"
    )
    for reason, n in k["not_expressible"].items():
        lines.append(f"  not a case {n}: {reason}")
    share = ", ".join(f"{s} {v:.0%}" for s, v in c["share"].items())
    lines.append(f"{c['seconds']} s, {c['kernels_per_second']} kernels/s; time in {share}")
    findings = c["findings"]
    lines.append(f"{len(findings)} findings" if findings else "no findings")
    lines += [f"  {f['signature']}  ({f['file']}; {f['directory']})" for f in findings]
    return lines
