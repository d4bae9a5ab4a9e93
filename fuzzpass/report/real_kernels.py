"""The report's "Real kernels" section: the page of a ``fuzzpass corpus`` run (``summary.json``
whose ``corpus`` is its counts, not a corpus's location) shows its counts, a row per kernel call
checked (fired ones first), the pass's diff of each kernel it fired on with its case, the
kernels skipped grouped by reason, and its findings, in place of the fuzzing sections.

What each shows is gathered here as data; ``templates/real_kernels.html.j2`` lays it out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.judge.gate import agrees
from fuzzpass.report.markup import Link, link, versions
from fuzzpass.report.rundir import RunDir

WRONG_NUMERICS = ("helion-mismatch", "helion-crash")
"""A kernel's findings that mean its numerics differ (what ``fuzzpass corpus`` counts as such)."""


def corpus_of(s: dict[str, Any]) -> dict[str, Any] | None:
    """A ``fuzzpass corpus`` run's counts; None for a fuzzing run (a run directory written before
    the example database was named ``examples`` has its location there, a string)."""
    c = s.get("corpus")
    return c if isinstance(c, dict) else None


def sub(d: dict[str, Any], key: str) -> dict[str, Any]:
    """``d[key]`` where it is an object, else empty: a summary or event another version wrote
    still renders."""
    value = d.get(key)
    return value if isinstance(value, dict) else {}


def num(d: dict[str, Any], key: str) -> str:
    return str(d.get(key, "?"))


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


def corpus_run(s: dict[str, Any]) -> dict[str, str]:
    """A corpus run has no budget, policy or cases: how to rerun it, what it compiled for, versions."""
    return {
        "rerun": corpus_rerun(s, corpus_of(s) or {}),
        "generations": f"{plain(s.get('generations'))}; {plain(s.get('gate_generations'))}",
        "versions": versions(s),
    }


def tally(counts: dict[str, Any]) -> str:
    """``{"passed": 30, "failed": 2}`` as ``passed 30, failed 2``."""
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def reasons(counts: dict[str, Any]) -> list[tuple[str, str]]:
    """Reasons and how many each, as (how many, reason), most frequent first."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1] if isinstance(kv[1], int) else 0, str(kv[0])))
    return [(str(n), str(r)) for r, n in ranked]


def compiled_counts(counts: dict[str, Any]) -> str:
    """Per generation, the calls whose kernels all compiled, of those compiled; those the
    compiler rejected, and those it never saw (not built here)."""
    parts = []
    for gen, n in counts.items():
        n = n if isinstance(n, dict) else {}
        done, rejected, not_run = (n.get(k, 0) for k in ("compiled", "rejected", "not run"))
        both = done + rejected if isinstance(done, int) and isinstance(rejected, int) else "?"
        parts.append(f"{gen} {done} of {both} ({rejected} rejected" + (f", {not_run} not run)" if not_run else ")"))
    return ", ".join(parts) or "not asked (--tpu none)"


def gate_agreement(gate: dict[str, Any]) -> dict[str, Any] | None:
    """Per generation, the fired kernels whose deferral the gate audit found no costlier, as
    (``v5e 3 of 4``, whether all agree); None where nothing was audited."""
    audited = gate.get("audited", 0)
    if not audited:
        return None
    return {"audited": audited, "agrees": [(f"{gen} {n} of {audited}", n == audited)
                                           for gen, n in sub(gate, "agrees").items()]}  # fmt: skip


def corpus_counts(c: dict[str, Any]) -> dict[str, Any]:
    """The counts ``fuzzpass corpus`` prints at its end: what a corpus run is judged by at a
    glance, before its rows."""
    k = sub(c, "kernels")
    not_imported, skipped, not_run = sub(c, "files_skipped"), sub(k, "skipped"), sub(k, "numerics_not_run")
    seeds = sub(c, "seeds")
    lost = c.get("entries_lost")
    return {
        "paths": ", ".join(map(str, c.get("paths") or [])) or "none recorded",
        "files": num(c, "files"),
        "not_imported": total(not_imported),
        "not_imported_reasons": reasons(not_imported),
        "entries": tally(sub(c, "entries")),
        "entries_lost": [str(entry) for entry in lost] if isinstance(lost, list) else None,  # the run went on
        "found": num(k, "found"),
        "bound": num(k, "bound"),
        "calls": num(k, "calls") if "calls" in k else None,
        "skipped": total(skipped),
        "skipped_reasons": reasons(skipped),
        "fired": num(k, "fired"),
        "agree": num(k, "numerics_agree"),
        "differ": num(k, "numerics_differ"),
        "differ_bad": bool(k.get("numerics_differ")),
        "not_run": total(not_run),
        "not_run_reasons": reasons(not_run),
        "compiled": compiled_counts(sub(k, "compile")),
        "gate": gate_agreement(sub(k, "gate")),
        "expressible": num(k, "expressible"),
        "not_expressible_reasons": reasons(sub(k, "not_expressible")),
        "seeds": f"{len(seeds.get('added') or [])} to {seeds.get('examples')}" if seeds else "none",
        "seconds": num(c, "seconds"),
        "kernels_per_second": num(c, "kernels_per_second"),
        "shares": ", ".join(
            f"{st} {v:.0%}" if isinstance(v, (int, float)) else f"{st} ?" for st, v in sub(c, "share").items()
        ),
    }


@dataclass(frozen=True)
class Cell:
    """A cell of a call's row: its text (None: nothing to say, a dash), its class (``ok``,
    ``bad`` or none) and the detail its title shows on hover."""

    text: str | None
    cls: str = ""
    title: str | None = None


@dataclass(frozen=True)
class Call:
    """A kernel call checked, as its row shows it."""

    index: int
    kernel: str
    file: str
    entry: str
    fired: bool
    cells: list[Cell]  # numerics, a compile per generation, the gate, the verdict


@dataclass(frozen=True)
class Diff:
    """A fired kernel: what the pass decided, its diff, how the numerics compared, its findings,
    and the case it became (or why not): what a bug report on Helion quotes."""

    index: int
    kernel: str
    file: str
    entry: str
    verdict: str
    decisions: list[dict[str, Any]]  # node, source, the tile dimensions whose masks were deferred
    lines: list[tuple[str, str]]  # (class, line): ``head``, ``hunk``, ``del``, ``add`` or '' for context
    removed: int
    added: int
    numerics: str
    findings: list[dict[str, str]]  # kind, stage and variant, message
    case: dict[str, str] | None  # its text, or the reason it is not a case; None: not tried


@dataclass(frozen=True)
class Finding:
    """A finding of the corpus run, with links to its directory and files, or the directory it
    named where that is not there (said at the top)."""

    signature: str
    kind: str
    kernel: str
    file: str
    links: list[Link]
    directory: str | None


def real_kernels(run: RunDir, s: dict[str, Any], dest: Path) -> dict[str, Any]:
    """What ``fuzzpass corpus`` found on real Helion kernels: counts, a row per call checked
    (fired ones first: they are where the pass can be wrong), the pass's diffs, the kernels it
    could not check and why, and its findings. ``calls`` is None where there is no
    ``kernels.jsonl``, and then there are no diffs or skips either."""
    c = corpus_of(s) or {}
    events = run.kernels or []
    checked = sorted((e for e in events if e.get("status") == "checked"),
                     key=lambda e: (not e.get("fired"), str(e.get("kernel")), str(e.get("file"))))  # fmt: skip
    out: dict[str, Any] = {"counts": corpus_counts(c), "findings": corpus_findings(run, c, dest), "calls": None}
    if run.kernels is not None:
        gens = generations_of(s, c, checked)
        judged = s.get("gate_generations")
        out["generations"] = gens
        out["calls"] = [call(e, i, gens, judged if isinstance(judged, list) else None) for i, e in enumerate(checked)]
        out["diffs"] = [kernel_diff(e, i) for i, e in enumerate(checked) if e.get("fired")]
        out["skipped"] = skipped_groups(events, checked)
        out["skipped_kernels"] = sum(len(kernels) for _, kernels in out["skipped"])
    return out


def generations_of(s: dict[str, Any], c: dict[str, Any], checked: list[dict[str, Any]]) -> list[str]:
    """The table's generation columns: those the run compiled for, else those anything names."""
    if isinstance(s.get("generations"), list):
        return [str(g) for g in s["generations"]]
    gens = list(sub(sub(c, "kernels"), "compile"))
    for e in checked:
        gens += [g for g in sub(e, "compiles") if g not in gens]
    return gens


def call(e: dict[str, Any], i: int, gens: list[str], judged: list[str] | None) -> Call:
    fired = bool(e.get("fired"))
    cells = [
        numerics_cell(e),
        *(compile_cell(sub(e, "compiles").get(g), fired) for g in gens),
        gate_cell(e.get("gate"), judged, fired),
        verdict_cell(e.get("verdict")),
    ]
    return Call(i, str(e.get("kernel", "?")), str(e.get("file", "?")), str(e.get("entry", "")), fired, cells)


def findings_of(e: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in e.get("findings") or [] if isinstance(f, dict)]


def numerics_cell(e: dict[str, Any]) -> Cell:
    """Agree or differ by the kernel's findings, as ``fuzzpass corpus`` counts them (the eager
    kernel leaking poison alone is its known hazard, not a difference), and only where its
    kernels ran: ``not run`` otherwise, why in the title with each comparison."""
    if not e.get("fired"):
        return Cell(None)
    detail = "; ".join(f"{k}: {v}" for k, v in sub(e, "numerics").items())
    if any(f.get("kind") in WRONG_NUMERICS for f in findings_of(e)):
        return Cell("differ", "bad", detail)
    result = str(e.get("numerics_result") or "not run: recorded by a fuzzpass that did not say")
    if result.startswith("not run"):
        return Cell("not run", "", detail)
    return Cell(result, "ok", detail)


def compile_cell(per_mode: Any, fired: bool) -> Cell:
    """Compiled, or which kernel the TPU compiler rejected (red where only the pass's is: that
    is the pass's doing); bundles or the compiler's message in the title."""
    if not isinstance(per_mode, dict) or not per_mode:
        return Cell(None)
    modes = {m: v if isinstance(v, dict) else {} for m, v in per_mode.items()}
    if any(v.get("ok") is None for v in modes.values()):  # not built here: no compiler saw it
        return Cell("not run", "", "; ".join(f"{m}: {v.get('message') or 'not run'}" for m, v in modes.items()))
    rejected = [m for m, v in modes.items() if not v.get("ok")]
    title = "; ".join(f"{m}: " + (f"{v.get('bundles')} bundles" if v.get("ok") else str(v.get("message") or "rejected"))
                      for m, v in modes.items())  # fmt: skip
    if not rejected:
        return Cell("compiled both" if len(modes) > 1 else "compiled", "ok", title)
    if len(rejected) == len(modes):
        return Cell("both rejected" if len(modes) > 1 else "rejected", "", title)
    return Cell(f"{rejected[0]} rejected", "bad" if fired and rejected == ["on"] else "", title)


def gate_cell(gate: Any, judged: list[str] | None, fired: bool = False) -> Cell:
    """Whether deferring cost more than the margin on a judged generation, and ``agrees`` only
    where every judged generation had both schedules; bundles in the title. A fired kernel
    with no audit (its kernels not built here) is ``not run``."""
    if not isinstance(gate, dict):
        return Cell("not run" if fired and judged else None)
    counts = sub(gate, "counts")
    try:
        results = {g: agrees(gate, g) for g in counts if judged is None or g in judged}
    except (KeyError, TypeError, AttributeError):  # a record this version cannot judge: said, not raised
        return Cell("unreadable")
    title = "; ".join(f"{g}: {tally(sub(counts, g))} bundles" for g in counts)
    if costly := [g for g, r in results.items() if r is False]:
        return Cell(f"costs more ({', '.join(costly)})", "bad", title)
    if unmeasured := [g for g in (judged or counts) if results.get(g) is None]:
        return Cell(f"not run on {', '.join(unmeasured)}", "", title)
    return Cell("agrees", "ok", title)


def verdict_cell(verdict: Any) -> Cell:
    v = str(verdict or "?")
    return Cell(v, {"pass": "ok", "not run": ""}.get(v, "bad"))


def diff_lines(diff: str) -> tuple[list[tuple[str, str]], int, int]:
    """The pass's diff as (class, line), and how many lines it removed and added: the
    ``---``/``+++`` header before the first hunk is not a line of the kernel."""
    out, removed, added, in_hunk = [], 0, 0, False
    for line in diff.splitlines(keepends=True):
        in_hunk = in_hunk or line.startswith("@@")
        cls = "head" if not in_hunk else "hunk" if line.startswith("@@") else {"-": "del", "+": "add"}.get(line[:1], "")
        removed, added = removed + (cls == "del"), added + (cls == "add")
        out.append((cls, line))
    return out, removed, added


def kernel_diff(e: dict[str, Any], i: int) -> Diff:
    lines, removed, added = diff_lines(str(e.get("diff") or ""))
    decisions = [{"node": str(d.get("node")), "source": str(d.get("source")),
                  "deferred": [str(t) for t in d.get("deferred") or []]}
                 for d in e.get("decisions") or [] if isinstance(d, dict)]  # fmt: skip
    found = [{"kind": str(f.get("kind")), "where": f"{f.get('stage')}, {f.get('variant')}",
              "message": str(f.get("message"))} for f in findings_of(e)]  # fmt: skip
    case = e.get("case")
    if isinstance(case, dict):
        case = (
            {"text": str(case["text"])} if "text" in case else {"reason": str(case.get("reason", "no reason recorded"))}
        )
    return Diff(
        index=i,
        kernel=str(e.get("kernel", "?")),
        file=str(e.get("file", "?")),
        entry=str(e.get("entry", "")),
        verdict=str(e.get("verdict", "?")),
        decisions=decisions,
        lines=lines,
        removed=removed,
        added=added,
        numerics="; ".join(f"{k}: {v}" for k, v in sub(e, "numerics").items()),
        findings=found,
        case=case if isinstance(case, dict) else None,
    )


def skipped_groups(
    events: list[dict[str, Any]], checked: list[dict[str, Any]]
) -> list[tuple[str, list[tuple[str, str]]]]:
    """Kernels not checked as (reason, [(kernel, file)]), most frequent reason first (a
    kernel checked on one call and skipped on another counts as checked, as ``fuzzpass corpus``
    counts it)."""
    bound = {(e.get("file"), e.get("kernel")) for e in checked}
    groups: dict[str, list[tuple[str, str]]] = {}
    for e in events:
        if e.get("status") == "skipped" and (e.get("file"), e.get("kernel")) not in bound:
            kernel = (str(e.get("kernel", "?")), str(e.get("file", "?")))
            groups.setdefault(str(e.get("reason") or "no reason recorded"), []).append(kernel)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


FINDING_FILES = ("pass.diff", "pallas-off.py", "pallas-on.py", "case.json", "kernel.json", "repro.sh")
"""What ``fuzzpass corpus`` leaves in a finding's directory, linked where there."""


def corpus_findings(run: RunDir, c: dict[str, Any], dest: Path) -> list[Finding]:
    """The corpus run's findings with relative links to their directories and files."""
    out = []
    for f in (f for f in c.get("findings") or [] if isinstance(f, dict)):
        directory = run.out / str(f["directory"]) if f.get("directory") else None
        if directory is None or not directory.is_dir():  # rundir said so at the top
            links, named = [], str(f.get("directory", "no directory recorded"))
        else:
            links = [link(directory, dest), *(link(directory / n, dest) for n in FINDING_FILES
                                              if (directory / n).is_file())]  # fmt: skip
            named = None
        out.append(Finding(str(f.get("signature")), str(f.get("kind")), str(f.get("kernel")), str(f.get("file")),
                           links, named))  # fmt: skip
    return out
