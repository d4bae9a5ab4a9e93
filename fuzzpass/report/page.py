"""The report as one HTML page, most important first: the run and whether it was healthy, its
findings (new ones first, with links and the two kernels side by side), decision coverage, the
run over time, TPU compiles, the gate audit, Helion's agreement. What could not be read is
said at the top, and every section renders from what exists.

A ``fuzzpass corpus`` run (``summary.json`` whose ``corpus`` is its counts, not a corpus's
location) has a "Real kernels" section instead of the fuzzing ones: its counts, a row per kernel
call checked, the pass's diff of each kernel it fired on, the kernels skipped and its findings."""

from __future__ import annotations

import os
import time
from html import escape
from pathlib import Path
from typing import Any

from fuzzpass.judge.candidate import Candidate
from fuzzpass.judge.gate import agrees
from fuzzpass.report import charts
from fuzzpass.report.kernels import side_by_side
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

CORPUS_STYLE = """
pre.diff, pre.case { background: #fafafa; border: 1px solid #eee; padding: 0.5em; overflow-x: auto; }
.diff .del { background: #ffe3e3; color: #a40000; } .diff .add { background: #dcf5dc; color: #0a5a0a; }
.diff .hunk { color: #6a5acd; } .diff .head { color: #777; } tr.fired td:first-child { border-left: 3px solid #e0a000; }
"""
"""Only on a ``fuzzpass corpus`` run's page: a fuzzing run's page keeps its bytes."""

WRONG_NUMERICS = ("helion-mismatch", "helion-crash")
"""A kernel's findings that mean its numerics differ (what ``fuzzpass corpus`` counts as such)."""


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


def table(rows: list[tuple[str, str]], ident: str) -> str:
    body = "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table id="{ident}">{body}</table>'


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


def versions(s: dict[str, Any]) -> str:
    shown = ", ".join(f"{escape(k)} {escape(str(v))}" for k, v in (s.get("versions") or {}).items() if v)
    return shown or "not recorded"


def link(path: Path | None, dest: Path) -> str:
    if path is None:
        return ""
    return f'<a href="{escape(os.path.relpath(path, dest.parent))}">{escape(path.name)}</a>'


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
        rows.append(f'<tr class="finding" id="finding-{i}"><td>{badge}</td><td><code>{escape(f.signature)}</code></td>'
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
    return ["<h2>Helion's agreement with the reference</h2>", table(rows, "helion")]


def corpus_of(s: dict[str, Any]) -> dict[str, Any] | None:
    """A ``fuzzpass corpus`` run's counts; None for a fuzzing run, whose ``corpus`` is where its
    corpus lives (a string)."""
    c = s.get("corpus")
    return c if isinstance(c, dict) else None


def sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """``d[key]`` where it is an object, else empty: a summary or event another version wrote
    still renders."""
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def num(d: dict[str, Any], key: str) -> str:
    return escape(str(d.get(key, "?")))


def total(counts: dict[str, Any]) -> int:
    return sum(n for n in counts.values() if isinstance(n, int))


def plain(value: Any) -> str:
    """A list of generations as words ('none' for an empty one, 'not recorded' for none)."""
    if value is None:
        return "not recorded"
    return (", ".join(map(str, value)) or "none") if isinstance(value, list) else str(value)


def corpus_rerun(s: dict[str, Any], c: dict[str, Any]) -> str:
    """The command that checks the same kernels again."""
    words = ["fuzzpass", "corpus", *map(str, c.get("paths") or []), "--seed", str(c.get("seed", s.get("seed", 0)))]
    if isinstance(s.get("generations"), list):
        words += ["--tpu", ",".join(map(str, s["generations"])) or "none"]
        if s["generations"] and s.get("gate_generations") is None:
            words.append("--no-gate")
    return " ".join(words)


def corpus_run_section(s: dict[str, Any]) -> list[str]:
    """A corpus run has no budget, policy or cases: how to rerun it, what it compiled for, versions."""
    c = corpus_of(s) or {}
    rows = [
        ("rerun", f"<code>{escape(corpus_rerun(s, c))}</code>"),
        ("compiled for; gate judged on", escape(f"{plain(s.get('generations'))}; {plain(s.get('gate_generations'))}")),
        ("versions", versions(s)),
    ]
    return ["<h2>The run</h2>", table(rows, "run")]


def tally(counts: dict[str, Any]) -> str:
    """``{"passed": 30, "failed": 2}`` as ``passed 30, failed 2``, escaped."""
    return escape(", ".join(f"{k} {v}" for k, v in counts.items())) or "none"


def reasons(counts: dict[str, Any]) -> str:
    """Reasons and how many each, most frequent first, as a list (escaped); '' for none."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], int) else 0, str(kv[0])))
    items = "".join(f"<li>{escape(str(n))}: {escape(str(r))}</li>" for r, n in ranked)
    return f"<ul>{items}</ul>" if items else ""


def compiled_counts(counts: dict[str, Any]) -> str:
    """Per generation, the calls whose kernels all compiled, of those compiled."""
    parts = []
    for gen, n in counts.items():
        n = n if isinstance(n, dict) else {}
        done, rejected = n.get("compiled", "?"), n.get("rejected", "?")
        both = done + rejected if isinstance(done, int) and isinstance(rejected, int) else "?"
        parts.append(f"{gen} {done} of {both} ({rejected} rejected)")
    return escape(", ".join(parts)) or "not asked (--tpu none)"


def gate_agreement(gate: dict[str, Any]) -> str:
    """Per generation, the fired kernels whose deferral the gate audit found no costlier; a
    generation where some cost more is red."""
    audited = gate.get("audited", 0)
    if not audited:
        return "no audit (the pass fired nowhere, or --no-gate)"
    parts = [f'<span class="{"ok" if n == audited else "bad"}">{escape(f"{gen} {n} of {audited}")}</span>'
             for gen, n in sub(gate, "agrees").items()]  # fmt: skip
    return f"{escape(str(audited))} audited; agrees on {', '.join(parts) or 'no generation'}"


def lost_entries(lost: list[Any]) -> str:
    """Entries whose worker died or went silent (the run went on without them): red, named."""
    items = "".join(f"<li>{escape(str(entry))}</li>" for entry in lost)
    return f'<span class="{"bad" if lost else "ok"}">{len(lost)}</span>' + (f"<ul>{items}</ul>" if items else "")


def corpus_counts(c: dict[str, Any]) -> str:
    """The counts ``fuzzpass corpus`` prints at its end: what a corpus run is judged by at a
    glance, before its rows."""
    k = sub(c, "kernels")
    not_imported, skipped = sub(c, "files_skipped"), sub(k, "skipped")
    differ = f'<span class="{"bad" if k.get("numerics_differ") else "ok"}">differ {num(k, "numerics_differ")}</span>'
    shares = ", ".join(
        f"{st} {v:.0%}" if isinstance(v, (int, float)) else f"{st} ?" for st, v in sub(c, "share").items()
    )
    seeds = sub(c, "seeds")
    rows = [
        ("paths", escape(", ".join(map(str, c.get("paths") or []))) or "none recorded"),
        ("files", f"{num(c, 'files')}, {total(not_imported)} not imported{reasons(not_imported)}"),
        ("their entries (tests, mains)", tally(sub(c, "entries"))),
        *([("entries lost", lost_entries(c["entries_lost"]))] if isinstance(c.get("entries_lost"), list) else []),
        ("kernels found", num(k, "found")),
        ("bound", num(k, "bound") + (f" ({num(k, 'calls')} calls checked)" if "calls" in k else "")),
        ("skipped", f"{total(skipped)}{reasons(skipped)}"),
        ("the pass fired", num(k, "fired")),
        ("numerics where it fired", f"agree {num(k, 'numerics_agree')}, {differ}"),
        ("compiled (all its kernels)", compiled_counts(sub(k, "compile"))),
        ("gate, where it fired", gate_agreement(sub(k, "gate"))),
        (
            "expressible as cases",
            f"{num(k, 'expressible')} of {num(k, 'fired')} fired{reasons(sub(k, 'not_expressible'))}",
        ),
        ("seeds added", escape(f"{len(seeds.get('added') or [])} to {seeds.get('corpus')}") if seeds else "none"),
        ("speed", f"{num(c, 'seconds')} s, {num(c, 'kernels_per_second')} kernels/s"),
        ("time in", escape(shares) or "not recorded"),
    ]
    return table(rows, "real-kernels-counts")


def real_kernels_section(run: RunDir, s: dict[str, Any], dest: Path) -> list[str]:
    """What ``fuzzpass corpus`` found on real Helion kernels: counts, a row per call checked
    (fired ones first: they are where the pass can be wrong), the pass's diffs, the kernels it
    could not check and why, and its findings."""
    c = corpus_of(s) or {}
    events = run.kernels or []
    checked = sorted((e for e in events if e.get("status") == "checked"),
                     key=lambda e: (not e.get("fired"), str(e.get("kernel")), str(e.get("file"))))  # fmt: skip
    out = ['<section id="real-kernels">', "<h2>Real kernels</h2>", corpus_counts(c)]
    if run.kernels is not None:
        gens = generations_of(s, c, checked)
        out.append(f"<h3>Kernel calls checked ({len(checked)})</h3>")
        out.append(calls_table(checked, gens, s.get("gate_generations")) if checked else "<p>None.</p>")
        out += [kernel_details(e, i) for i, e in enumerate(checked) if e.get("fired")]
        out += skipped_list(events, checked)
    out += corpus_findings(run, c, dest)
    return [*out, "</section>"]


def generations_of(s: dict[str, Any], c: dict[str, Any], checked: list[dict[str, Any]]) -> list[str]:
    """The table's generation columns: those the run compiled for, else those anything names."""
    if isinstance(s.get("generations"), list):
        return [str(g) for g in s["generations"]]
    gens = list(sub(sub(c, "kernels"), "compile"))
    for e in checked:
        gens += [g for g in sub(e, "compiles") if g not in gens]
    return gens


def calls_table(checked: list[dict[str, Any]], gens: list[str], judged: Any) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in
                   ("kernel", "file, entry", "pass fired", "numerics", *gens, "gate", "verdict"))  # fmt: skip
    rows = "".join(call_row(e, i, gens, judged if isinstance(judged, list) else None) for i, e in enumerate(checked))
    return f'<table id="real-kernel-calls"><tr>{head}</tr>{rows}</table>'


def call_row(e: dict[str, Any], i: int, gens: list[str], judged: list[str] | None) -> str:
    fired = bool(e.get("fired"))
    name = f"<code>{escape(str(e.get('kernel', '?')))}</code>"
    kernel = f'<a href="#real-kernel-diff-{i}">{name}</a>' if fired else name
    file = str(e.get("file", "?"))
    cells = [
        f"<td>{kernel}</td>",
        f'<td title="{escape(file)}">{escape(Path(file).name)}<br><code>{escape(str(e.get("entry", "")))}</code></td>',
        f"<td>{'yes' if fired else 'no'}</td>",
        numerics_cell(e),
        *(compile_cell(sub(e, "compiles").get(g), fired) for g in gens),
        gate_cell(e.get("gate"), judged),
        verdict_cell(e.get("verdict")),
    ]
    return f'<tr class="real-kernel{" fired" if fired else ""}" id="real-kernel-{i}">{"".join(cells)}</tr>'


def findings_of(e: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in e.get("findings") or [] if isinstance(f, dict)]


def numerics_cell(e: dict[str, Any]) -> str:
    """Agree or differ by the kernel's findings, as ``fuzzpass corpus`` counts them (the eager
    kernel leaking poison alone is its known hazard, not a difference); each comparison in the
    title."""
    if not e.get("fired"):
        return "<td>&mdash;</td>"
    detail = escape("; ".join(f"{k}: {v}" for k, v in sub(e, "numerics").items()))
    wrong = any(f.get("kind") in WRONG_NUMERICS for f in findings_of(e))
    return f'<td class="{"bad" if wrong else "ok"}" title="{detail}">{"differ" if wrong else "agree"}</td>'


def compile_cell(per_mode: Any, fired: bool) -> str:
    """Compiled, or which kernel the TPU compiler rejected (red where only the pass's is: that
    is the pass's doing); bundles or the compiler's message in the title."""
    if not isinstance(per_mode, dict) or not per_mode:
        return "<td>&mdash;</td>"
    modes = {m: v if isinstance(v, dict) else {} for m, v in per_mode.items()}
    rejected = [m for m, v in modes.items() if not v.get("ok")]
    title = "; ".join(f"{m}: " + (f"{v.get('bundles')} bundles" if v.get("ok") else str(v.get("message") or "rejected"))
                      for m, v in modes.items())  # fmt: skip
    if not rejected:
        text, cls = ("compiled both" if len(modes) > 1 else "compiled"), "ok"
    elif len(rejected) == len(modes):
        text, cls = ("both rejected" if len(modes) > 1 else "rejected"), ""
    else:
        text, cls = f"{rejected[0]} rejected", "bad" if fired and rejected == ["on"] else ""
    return f'<td class="{cls}" title="{escape(title)}">{escape(text)}</td>'


def gate_cell(gate: Any, judged: list[str] | None) -> str:
    """Whether deferring cost more than the margin on a judged generation; bundles in the title."""
    if not isinstance(gate, dict):
        return "<td>&mdash;</td>"
    counts = sub(gate, "counts")
    try:
        costly = [g for g in counts if (judged is None or g in judged) and agrees(gate, g) is False]
    except (KeyError, TypeError, AttributeError):  # a record this version cannot judge: said, not raised
        return "<td>unreadable</td>"
    title = escape("; ".join(f"{g}: {tally(sub(counts, g))} bundles" for g in counts), quote=True)
    if costly:
        return f'<td class="bad" title="{title}">costs more ({escape(", ".join(costly))})</td>'
    return f'<td class="ok" title="{title}">agrees</td>'


def verdict_cell(verdict: Any) -> str:
    v = str(verdict or "?")
    return f'<td class="{"ok" if v == "pass" else "bad"}">{escape(v)}</td>'


def diff_lines(diff: str) -> tuple[str, int, int]:
    """The pass's diff with its removed and added lines marked, and how many of each: the
    ``---``/``+++`` header before the first hunk is not a line of the kernel."""
    out, removed, added, in_hunk = [], 0, 0, False
    for line in diff.splitlines(keepends=True):
        in_hunk = in_hunk or line.startswith("@@")
        cls = "head" if not in_hunk else "hunk" if line.startswith("@@") else {"-": "del", "+": "add"}.get(line[:1], "")
        removed, added = removed + (cls == "del"), added + (cls == "add")
        out.append(f'<span class="{cls}">{escape(line)}</span>' if cls else escape(line))
    return "".join(out), removed, added


def kernel_details(e: dict[str, Any], i: int) -> str:
    """A fired kernel: what the pass decided, its diff, how the numerics compared, its findings,
    and the case it became (or why not): what a bug report on Helion quotes."""
    text, removed, added = diff_lines(str(e.get("diff") or ""))
    where = f"{escape(Path(str(e.get('file', '?'))).name)}, <code>{escape(str(e.get('entry', '')))}</code>"
    summary = (f"<summary>The pass on <code>{escape(str(e.get('kernel', '?')))}</code> ({where}): "
               f"{removed} lines removed, {added} added, {escape(str(e.get('verdict', '?')))}</summary>")  # fmt: skip
    parts = [f'<details id="real-kernel-diff-{i}" class="real-kernel-diff"{" open" if i == 0 else ""}>{summary}']
    decisions = [d for d in e.get("decisions") or [] if isinstance(d, dict)]
    if decisions:
        parts.append("<ul>" + "".join(f"<li>{decision(d)}</li>" for d in decisions) + "</ul>")
    parts.append(f'<pre class="diff">{text}</pre>' if text else "<p>No diff recorded.</p>")
    if numerics := sub(e, "numerics"):
        parts.append(f"<p>Numerics: {escape('; '.join(f'{k}: {v}' for k, v in numerics.items()))}.</p>")
    if found := findings_of(e):
        parts.append("<ul>" + "".join(f"<li>{finding_line(f)}</li>" for f in found) + "</ul>")
    return "".join([*parts, case_of(e.get("case")), "</details>"])


def finding_line(f: dict[str, Any]) -> str:
    where = escape(f"{f.get('stage')}, {f.get('variant')}")
    return f"<b>{escape(str(f.get('kind')))}</b> ({where}): {escape(str(f.get('message')))}"


def decision(d: dict[str, Any]) -> str:
    deferred = [str(t) for t in d.get("deferred") or []]
    what = f"mask of {escape(', '.join(deferred))} deferred" if deferred else "masks kept"
    return f"load <code>{escape(str(d.get('node')))}</code> of <code>{escape(str(d.get('source')))}</code>: {what}"


def case_of(case: Any) -> str:
    """The case a fired kernel became, or why it could not be one ('' where it was not tried)."""
    if not isinstance(case, dict):
        return ""
    if "text" in case:
        return f'<p>As a case (added to the corpus\'s seeds):</p><pre class="case">{escape(str(case["text"]))}</pre>'
    return f'<p class="not-a-case">Not a case: {escape(str(case.get("reason", "no reason recorded")))}.</p>'


def skipped_list(events: list[dict[str, Any]], checked: list[dict[str, Any]]) -> list[str]:
    """Kernels not checked, grouped by reason, most frequent first (a kernel checked on one call
    and skipped on another counts as checked, as ``fuzzpass corpus`` counts it)."""
    bound = {(e.get("file"), e.get("kernel")) for e in checked}
    groups: dict[str, list[str]] = {}
    for e in events:
        if e.get("status") == "skipped" and (e.get("file"), e.get("kernel")) not in bound:
            name = f"<code>{escape(str(e.get('kernel', '?')))}</code> ({escape(Path(str(e.get('file', '?'))).name)})"
            groups.setdefault(str(e.get("reason") or "no reason recorded"), []).append(name)
    if not groups:
        return []
    items = "".join(f"<li><b>{len(names)}</b> {escape(reason)}: {', '.join(names)}</li>"
                    for reason, names in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))  # fmt: skip
    return [
        f"<h3>Kernels skipped ({sum(map(len, groups.values()))})</h3>",
        f'<ul id="real-kernels-skipped">{items}</ul>',
    ]


FINDING_FILES = ("pass.diff", "pallas-off.py", "pallas-on.py", "case.json", "kernel.json", "repro.sh")
"""What ``fuzzpass corpus`` leaves in a finding's directory, linked where there."""


def corpus_findings(run: RunDir, c: dict[str, Any], dest: Path) -> list[str]:
    """The corpus run's findings with relative links to their directories and files."""
    listed = [f for f in c.get("findings") or [] if isinstance(f, dict)]
    out = [f"<h3>Findings on real kernels ({len(listed)})</h3>"]
    if not listed:
        return [*out, '<p id="no-real-kernel-findings">No findings.</p>']
    head = "".join(f"<th>{h}</th>" for h in ("signature", "kind", "kernel", "file", "files"))
    rows = []
    for f in listed:
        directory = run.out / str(f["directory"]) if f.get("directory") else None
        if directory is None or not directory.is_dir():  # rundir said so at the top
            links = [escape(str(f.get("directory", "no directory recorded")))]
        else:
            links = [
                link(directory, dest),
                *(link(directory / n, dest) for n in FINDING_FILES if (directory / n).is_file()),
            ]
        rows.append(f'<tr class="real-kernel-finding"><td><code>{escape(str(f.get("signature")))}</code></td>'
                    f"<td>{escape(str(f.get('kind')))}</td><td><code>{escape(str(f.get('kernel')))}</code></td>"
                    f'<td title="{escape(str(f.get("file")))}">{escape(Path(str(f.get("file"))).name)}</td>'
                    f"<td>{' '.join(links)}</td></tr>")  # fmt: skip
    return [*out, f'<table id="real-kernel-findings"><tr>{head}</tr>{"".join(rows)}</table>']
