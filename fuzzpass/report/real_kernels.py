"""The report's "Real kernels" section: the page of a ``fuzzpass corpus`` run (``summary.json``
whose ``corpus`` is its counts, not a corpus's location) shows its counts, a row per kernel call
checked (fired ones first), the pass's diff of each kernel it fired on with its case, the
kernels skipped grouped by reason, and its findings, in place of the fuzzing sections."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from fuzzpass.judge.gate import agrees
from fuzzpass.report.markup import link, table, versions
from fuzzpass.report.rundir import RunDir

CORPUS_STYLE = """
pre.diff, pre.case { background: #fafafa; border: 1px solid #eee; padding: 0.5em; overflow-x: auto; }
.diff .del { background: #ffe3e3; color: #a40000; } .diff .add { background: #dcf5dc; color: #0a5a0a; }
.diff .hunk { color: #6a5acd; } .diff .head { color: #777; } tr.fired td:first-child { border-left: 3px solid #e0a000; }
"""
"""Only on a ``fuzzpass corpus`` run's page: a fuzzing run's page keeps its bytes."""

WRONG_NUMERICS = ("helion-mismatch", "helion-crash")
"""A kernel's findings that mean its numerics differ (what ``fuzzpass corpus`` counts as such)."""


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
    """Per generation, the calls whose kernels all compiled, of those compiled; those the
    compiler rejected, and those it never saw (not built here)."""
    parts = []
    for gen, n in counts.items():
        n = n if isinstance(n, dict) else {}
        done, rejected, not_run = (n.get(k, 0) for k in ("compiled", "rejected", "not run"))
        both = done + rejected if isinstance(done, int) and isinstance(rejected, int) else "?"
        parts.append(f"{gen} {done} of {both} ({rejected} rejected" + (f", {not_run} not run)" if not_run else ")"))
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
        (
            "numerics where it fired",
            f"agree {num(k, 'numerics_agree')}, {differ}, "
            f"not run {total(sub(k, 'numerics_not_run'))}{reasons(sub(k, 'numerics_not_run'))}",
        ),
        ("compiled where it fired (both kernels)", compiled_counts(sub(k, "compile"))),
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
        gate_cell(e.get("gate"), judged, fired),
        verdict_cell(e.get("verdict")),
    ]
    return f'<tr class="real-kernel{" fired" if fired else ""}" id="real-kernel-{i}">{"".join(cells)}</tr>'


def findings_of(e: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in e.get("findings") or [] if isinstance(f, dict)]


def numerics_cell(e: dict[str, Any]) -> str:
    """Agree or differ by the kernel's findings, as ``fuzzpass corpus`` counts them (the eager
    kernel leaking poison alone is its known hazard, not a difference), and only where its
    kernels ran: ``not run`` otherwise, why in the title with each comparison."""
    if not e.get("fired"):
        return "<td>&mdash;</td>"
    detail = escape("; ".join(f"{k}: {v}" for k, v in sub(e, "numerics").items()))
    if any(f.get("kind") in WRONG_NUMERICS for f in findings_of(e)):
        return f'<td class="bad" title="{detail}">differ</td>'
    result = str(e.get("numerics_result") or "not run: recorded by a fuzzpass that did not say")
    if result.startswith("not run"):
        return f'<td title="{detail}">not run</td>'
    return f'<td class="ok" title="{detail}">{escape(result)}</td>'


def compile_cell(per_mode: Any, fired: bool) -> str:
    """Compiled, or which kernel the TPU compiler rejected (red where only the pass's is: that
    is the pass's doing); bundles or the compiler's message in the title."""
    if not isinstance(per_mode, dict) or not per_mode:
        return "<td>&mdash;</td>"
    modes = {m: v if isinstance(v, dict) else {} for m, v in per_mode.items()}
    if any(v.get("ok") is None for v in modes.values()):  # not built here: no compiler saw it
        title = "; ".join(f"{m}: {v.get('message') or 'not run'}" for m, v in modes.items())
        return f'<td title="{escape(title)}">not run</td>'
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


def gate_cell(gate: Any, judged: list[str] | None, fired: bool = False) -> str:
    """Whether deferring cost more than the margin on a judged generation, and ``agrees`` only
    where every judged generation had both schedules; bundles in the title. A fired kernel
    with no audit (its kernels not built here) is ``not run``."""
    if not isinstance(gate, dict):
        return "<td>not run</td>" if fired and judged else "<td>&mdash;</td>"
    counts = sub(gate, "counts")
    try:
        results = {g: agrees(gate, g) for g in counts if judged is None or g in judged}
    except (KeyError, TypeError, AttributeError):  # a record this version cannot judge: said, not raised
        return "<td>unreadable</td>"
    title = escape("; ".join(f"{g}: {tally(sub(counts, g))} bundles" for g in counts), quote=True)
    if costly := [g for g, r in results.items() if r is False]:
        return f'<td class="bad" title="{title}">costs more ({escape(", ".join(costly))})</td>'
    unmeasured = [g for g in (judged or counts) if results.get(g) is None]
    if unmeasured:
        return f'<td title="{title}">not run on {escape(", ".join(unmeasured))}</td>'
    return f'<td class="ok" title="{title}">agrees</td>'


def verdict_cell(verdict: Any) -> str:
    v = str(verdict or "?")
    cls = {"pass": "ok", "not run": ""}.get(v, "bad")
    return f'<td class="{cls}">{escape(v)}</td>'


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
