"""The report as one HTML page, most important first: the run and whether it was healthy, its
findings (new ones first, with links and the two kernels side by side), decision coverage, the
run over time, TPU compiles, the gate audit, Helion's agreement. What could not be read is
said at the top, and every section renders from what exists.

A ``fuzzpass corpus`` run (``summary.json`` whose ``corpus`` is its counts, not a corpus's
location) has a "Real kernels" section instead of the fuzzing ones: its counts, a row per kernel
call checked, the pass's diff of each kernel it fired on, the kernels skipped and its findings."""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any

from fuzzpass.judge.candidate import Candidate
from fuzzpass.report import charts
from fuzzpass.report.kernels import side_by_side
from fuzzpass.report.markup import link, table, versions
from fuzzpass.report.real_kernels import CORPUS_STYLE, corpus_of, corpus_run_section, real_kernels_section
from fuzzpass.report.rundir import FindingView, RunDir

KERNELS_SHOWN = 12
"""Findings whose kernels the page holds side by side (new ones first; the first one unfolded):
a night with hundreds of signatures keeps a page that opens quickly; the rest have their links."""

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
"""Nothing but the page itself: no script, no font, no request (the browser enforces it)."""

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1180px; color: #222; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.5em 0; } td, th { padding: 0.2em 0.7em; text-align: left;
  border-bottom: 1px solid #eee; vertical-align: top; } th { background: #f4f4f4; }
code, pre { font: 12px/1.35 ui-monospace, monospace; } .missing { background: #fff4e5; border: 1px solid #f0b060;
  padding: 0.5em 1em; } .new { color: #fff; background: #cc0000; padding: 0 0.4em; border-radius: 3px; }
.known { color: #555; background: #e8e8e8; padding: 0 0.4em; border-radius: 3px; }
.ok { color: #1b7a1b; } .bad { color: #cc0000; font-weight: bold; }
.kernels { width: 100%; table-layout: fixed; } .kernels td { white-space: pre; overflow-x: auto; padding: 0 0.5em;
  border: none; font: 11px/1.3 ui-monospace, monospace; } .kernels tr.changed td { background: #fff0c0; }
.kernels tr.changed td.gap { background: #f6e3a0; } figure { margin: 0.5em 0; }
figure svg { max-width: 100%; height: auto; }
details { margin: 0.6em 0; } summary { cursor: pointer; }
"""


def render(run: RunDir, dest: Path) -> str:
    """The page for ``run``, written to be opened from ``dest`` (links are relative to it)."""
    s = run.summary or {}
    style = STYLE + (CORPUS_STYLE if corpus_of(s) is not None else "")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>fuzzpass: {escape(title(s))}</title><style>{style}</style></head><body>",
        f"<h1>fuzzpass run: {escape(title(s))}</h1>",
        f"<p>Report of <code>{escape(str(run.out))}</code>, written {written()}.</p>",
    ]
    if run.missing:
        items = "".join(f"<li>{escape(m)}</li>" for m in run.missing)
        parts.append(f'<div class="missing" id="missing"><b>Not in this report</b><ul>{items}</ul></div>')
    parts += run_section(s)
    if corpus_of(s) is not None:
        parts += real_kernels_section(run, s, dest)
        if run.findings:  # finding directories the corpus run did not list: shown, not dropped
            parts += findings_section(run, dest)
    else:
        parts += fuzzing_sections(run, s, dest)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def fuzzing_sections(run: RunDir, s: dict[str, Any], dest: Path) -> list[str]:
    """What a fuzzing run (``run``, ``exhaust``) has and a corpus run has not: its cases'
    findings, coverage, timeline, compiles, gate audit, Helion's agreement."""
    parts = findings_section(run, dest)
    parts += coverage_section(s)
    parts += chart_section("Cases and findings over the run", "timeline", charts.timeline(s.get("timeline") or []),
                           "no timeline: the run recorded fewer than two points")  # fmt: skip
    parts += compiles_section(s)
    parts += gate_section(run, s)
    parts += helion_section(s)
    return parts


def written() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def title(s: dict[str, Any]) -> str:
    if not s:
        return "no summary"
    if (c := corpus_of(s)) is not None:
        paths = [str(p) for p in c.get("paths") or []]
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        return f"corpus of {shown or 'no paths'}, seed {c.get('seed', s.get('seed'))}"
    return f"seed {s.get('seed')}, {s.get('backend')}, {s.get('policy')}{', ' + under if (under := tested(s)) else ''}"


def tested(s: dict[str, Any]) -> str:
    """What replaced the reference pass ('' for none): a mutant, or a candidate file."""
    if isinstance(s.get("pass"), dict):
        return f"pass {s['pass'].get('file')}:{s['pass'].get('name')} (sha256 {str(s['pass'].get('sha256'))[:12]})"
    return f"mutant {s['mutant']}" if s.get("mutant") else ""


def rerun(s: dict[str, Any]) -> str:
    """The command that draws the same cases again."""
    budget = str(s.get("budget")).replace(" cases", "cases").removesuffix(" s")
    if isinstance(s.get("exhaust"), dict):  # every structure up to K nodes: no policy, no budget needed
        words = ["fuzzpass", "exhaust", "--max-nodes", str(s["exhaust"].get("max_nodes")), "--seed", str(s.get("seed")),
                 "--backend", str(s.get("backend")), "--poison", str(s.get("poison"))]  # fmt: skip
    else:
        words = ["fuzzpass", "run", "--seed", str(s.get("seed")), "--policy", str(s.get("policy")),
                 "--backend", str(s.get("backend")), "--poison", str(s.get("poison")), "--budget", budget]  # fmt: skip
    if s.get("mutant"):
        words += ["--mutant", s["mutant"]]
    if isinstance(s.get("pass"), dict):
        words += ["--pass", f"{s['pass'].get('file')}:{s['pass'].get('name')}"]
    if s.get("gate_rule", "positional") != "positional":
        words += ["--gate", str(s["gate_rule"])]
    if s.get("gate_generations") is not None:
        words += ["--check-gate", "--tpu", ",".join(s["gate_generations"])]
    elif s.get("generations") is not None:
        words += ["--tpu", ",".join(s["generations"]) or "none"]
    return " ".join(words)


def run_section(s: dict[str, Any]) -> list[str]:
    if not s:
        return ["<h2>The run</h2>", "<p>No summary: nothing is known of the run but its files below.</p>"]
    if corpus_of(s) is not None:
        return corpus_run_section(s)
    verdicts = ", ".join(f"{escape(k)} {v}" for k, v in (s.get("verdicts") or {}).items()) or "none"
    health = [f"{s.get('timeouts', 0)} timeouts", f"{s.get('worker_crashes', 0)} worker crashes"]
    healthy = not s.get("timeouts") and not s.get("worker_crashes")
    rows = [
        ("seed", f"{s.get('seed')} (rerun: <code>{escape(rerun(s))}</code>)"),
        ("backend, policy, poison", escape(f"{s.get('backend')}, {s.get('policy')}, {s.get('poison')}")),
        (
            "pass under test",
            escape(tested(s) or "the reference pass") + escape(f", gate {s.get('gate_rule', 'positional')}"),
        ),
        ("budget, stopped by", escape(f"{s.get('budget')}, {s.get('stopped') or 'not stopped (still running?)'}")),
        ("cases", f"{s.get('cases')} in {s.get('seconds')} s, {s.get('cases_per_s')} cases/s, {s.get('jobs')} workers"),
        ("verdicts", verdicts),
        ("health", f'<span class="{"ok" if healthy else "bad"}">{", ".join(health)}</span>'),
        ("corpus, compile cache", escape(f"{s.get('corpus')}, {s.get('compile_cache')}")),
        ("versions", versions(s)),
    ]
    return ["<h2>The run</h2>", table(rows, "run")]


def findings_section(run: RunDir, dest: Path) -> list[str]:
    out = [f"<h2>Findings ({len(run.findings)})</h2>"]
    if not run.findings:
        return [*out, '<p id="no-findings">No findings.</p>']
    new = sum(f.new is True for f in run.findings)
    out.append(f"<p>{new} new (not in earlier runs under this directory), {len(run.findings) - new} known.</p>")
    head = "".join(f"<th>{h}</th>" for h in ("", "signature", "kind", "count", "first at", "nodes", "files"))
    rows = []
    for i, f in enumerate(run.findings):
        badge = {True: '<span class="new">new</span>', False: '<span class="known">known</span>'}.get(f.new, "")
        nodes = f"{f.nodes} &rarr; {f.minimized_nodes}" if f.minimized_nodes is not None else f"{f.nodes or '?'}"
        files = " ".join(link(f.file(n), dest) for n in ("case.json", "shrunk.json", "minimized.json", "repro.py"))
        first = f"{f.first_at_s} s" if f.first_at_s is not None else ""
        signature = f"<code>{escape(f.signature)}</code>"
        if f.bisected:
            signature += f'<div class="bisected">bisected: {escape(f.bisected)}</div>'
        rows.append(f'<tr class="finding" id="finding-{i}"><td>{badge}</td><td>{signature}</td>'
                    f"<td>{escape(f.kind)}</td><td>{f.count or ''}</td><td>{first}</td><td>{nodes}</td>"
                    f"<td>{files}</td></tr>")  # fmt: skip
    out.append(f'<table id="findings"><tr>{head}</tr>{"".join(rows)}</table>')
    for i, f in enumerate(run.findings[:KERNELS_SHOWN]):
        out.append(kernels(f, i))
    if len(run.findings) > KERNELS_SHOWN:
        out.append(f"<p>Kernels of the other {len(run.findings) - KERNELS_SHOWN} findings: run their repro.py.</p>")
    return out


def kernels(f: FindingView, i: int) -> str:
    case = f.file("minimized.json") or f.file("shrunk.json") or f.file("case.json")
    summary = f"<summary>Kernels of <code>{escape(f.signature)}</code>"
    if case is None:
        return f"<details>{summary}</summary><p>No case file to build them from.</p></details>"
    right = f"mutant {escape(f.mutant)}" if f.mutant else "deferred"
    if f.candidate:
        right = f"candidate {escape(str(f.candidate.get('name')))}"
    summary += f" ({escape(case.name)}, eager left, {right} right)</summary>"
    try:
        rows = side_by_side(case, f.mutant, Candidate.from_json(f.candidate) if f.candidate else None)
    except Exception as e:  # a case this version cannot build: said, not raised
        return f"<details>{summary}<p>Cannot build them: {escape(type(e).__name__)}: {escape(str(e))}</p></details>"
    changed = sum(r.changed for r in rows)
    body = "".join(f"<tr{' class=changed' if r.changed else ''}>{cell(r.eager)}{cell(r.deferred)}</tr>" for r in rows)
    head = "<tr><th>eager (Before)</th><th>deferred (After)</th></tr>"
    lines = f"{changed} line{'s' if changed != 1 else ''} changed by the pass, marked"
    return (f'<details id="kernels-{i}"{" open" if i == 0 else ""}>{summary}<p>{lines}.</p>'
            f'<table class="kernels">{head}{body}</table></details>')  # fmt: skip


def cell(line: str | None) -> str:
    """One side of a kernel line; a gap where the other side has a line this one lacks."""
    return '<td class="gap"></td>' if line is None else f"<td>{escape(line)}</td>"


def chart_section(heading: str, ident: str, chart: str | None, absent: str, note: str = "") -> list[str]:
    out = [f"<h2>{escape(heading)}</h2>"]
    if chart is None:
        return [*out, f'<p class="absent" id="{ident}-absent">{escape(absent)}.</p>']
    return [*out, f'<figure class="chart" id="{ident}">{chart}</figure>', note]


def coverage_section(s: dict[str, Any]) -> list[str]:
    branches = s.get("branches") or {}
    unreached = [r for r, n in (s.get("coverage") or {}).items() if not n]
    note = f"<p>Reasons no case was given: {escape(', '.join(unreached))}.</p>" if unreached else ""
    if s.get("coverage"):
        reasons = ", ".join(f"{escape(k)} {v}" for k, v in s["coverage"].items())
        note += f"<p>Reasons: {reasons}.</p>"
    return chart_section("Decision coverage: a bar per branch of the pass", "coverage", charts.coverage(branches),
                         "no decisions recorded", note)  # fmt: skip


def compiles_section(s: dict[str, Any]) -> list[str]:
    tallies = {"the reference's kernels": s.get("tpu_compile") or {},
               "Helion's kernels": s.get("helion_tpu_compile") or {}}  # fmt: skip
    messages: dict[str, int] = {}
    for tally in tallies.values():
        for per_gen in tally.values():
            for message, n in per_gen.get("messages", {}).items():
                messages[message] = messages.get(message, 0) + n
    note = ""
    if messages:
        rows = "".join(f"<tr><td>{n}</td><td><code>{escape(m)}</code></td></tr>"
                       for m, n in sorted(messages.items(), key=lambda kv: -kv[1])[:10])  # fmt: skip
        note = f'<p>Rejections, most frequent first:</p><table id="rejections">{rows}</table>'
    return chart_section("TPU compiles per generation", "compiles", charts.compiles(tallies),
                         "no TPU compiles in this run (--tpu none, or no libtpu)", note)  # fmt: skip


def gate_section(run: RunDir, s: dict[str, Any]) -> list[str]:
    if run.gate is None:
        absent = "no gate audit in this run (no gate.jsonl; fuzzpass run --check-gate writes one)"
        if s.get("gate_audited"):
            absent = f"gate.jsonl is missing, though the run audited {s['gate_audited']} cases"
        return chart_section("The gate audit", "gate", None, absent)
    note = (f"<p>{len(run.gate)} audits. Each point is a case: the pass's choice against the other choice, in "
            "scheduled bundles of one grid step (static schedules, not timings). Below the black line the choice is "
            "cheaper; above the dashed line it costs more than the 5% margin.</p>")  # fmt: skip
    return chart_section("The gate audit", "gate", charts.gate(run.gate, s.get("gate_generations")),
                         "the audit compiled nothing on any generation", note)  # fmt: skip


def helion_section(s: dict[str, Any]) -> list[str]:
    decisions = s.get("helion_decisions")
    if not decisions:
        return []
    rows = [(k, escape(str(v))) for k, v in decisions.items()]
    out = ["<h2>Helion's agreement with the reference</h2>", table(rows, "helion")]
    if b := s.get("helion_baseline"):
        out.append(f"<h2>Helion {escape(str((s.get('versions') or {}).get('helion')))} "
                   f"against the baseline {escape(b['helion'])}</h2>")  # fmt: skip
        rows = [("cases compared", str(b["compared"])), ("not run on the baseline", str(b["not_run"]))]
        rows += [(f"regressed: {k}", str(v)) for k, v in b["regressed"].items()]
        rows += [(f"fixed (no finding): {k}", str(v)) for k, v in b["fixed"].items()]
        out.append(table(rows, "helion-baseline"))
    return out
