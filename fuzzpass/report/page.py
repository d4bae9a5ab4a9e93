"""The report as one HTML page, most important first: the run and whether it was healthy, its
findings (new ones first, with links and the two kernels side by side), decision coverage, the
run over time, TPU compiles, the gate audit, Helion's agreement. What could not be read is
said at the top, and every section renders from what exists.

A ``fuzzpass corpus`` run (``summary.json`` whose ``corpus`` is its counts, not a corpus's
location) has a "Real kernels" section instead of the fuzzing ones: its counts, a row per kernel
call checked, the pass's diff of each kernel it fired on, the kernels skipped and its findings.

This module gathers what each section shows, as data; ``templates/page.html.j2`` and the
templates it imports lay it out (escaping every value once) and hold the page's styles."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.judge.candidate import Candidate
from fuzzpass.report import charts
from fuzzpass.report.kernels import Row, side_by_side
from fuzzpass.report.markup import TEMPLATES, link, versions
from fuzzpass.report.real_kernels import corpus_of, corpus_run, real_kernels
from fuzzpass.report.rundir import FindingView, RunDir
from reference.gates import DEFAULT as DEFAULT_GATE

KERNELS_SHOWN = 12
"""Findings whose kernels the page holds side by side (new ones first; the first one unfolded):
a night with hundreds of signatures keeps a page that opens quickly; the rest have their links."""

FINDING_FILES = ("case.json", "shrunk.json", "minimized.json", "repro.py")
"""A finding's files, linked from its row where they are there."""


def render(run: RunDir, dest: Path) -> str:
    """The page for ``run``, written to be opened from ``dest`` (links are relative to it)."""
    s = run.summary or {}
    corpus = corpus_of(s) is not None
    return TEMPLATES.get_template("page.html.j2").render(
        title=title(s),
        out=str(run.out),
        written=written(),
        missing=run.missing,
        corpus=corpus,
        run=(corpus_run(s) if corpus else fuzzing_run(s)) if s else None,
        real_kernels=real_kernels(run, s, dest) if corpus else None,
        # a corpus run's page shows the finding directories it did not list: shown, not dropped
        findings=findings(run, dest) if not corpus or run.findings else None,
        fuzzing=fuzzing(run, s) if not corpus else None,
    )


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
    if s.get("gate_rule", DEFAULT_GATE) != DEFAULT_GATE:
        words += ["--gate", str(s["gate_rule"])]
    if s.get("gate_generations") is not None:
        words += ["--check-gate", "--tpu", ",".join(s["gate_generations"])]
    elif s.get("generations") is not None:
        words += ["--tpu", ",".join(s["generations"]) or "none"]
    return " ".join(words)


def fuzzing_run(s: dict[str, Any]) -> dict[str, Any]:
    """The run's table of a fuzzing run, a value a row."""
    return {
        "seed": str(s.get("seed")),
        "rerun": rerun(s),
        "backend": f"{s.get('backend')}, {s.get('policy')}, {s.get('poison')}",
        "tested": f"{tested(s) or 'the reference pass'}, gate {s.get('gate_rule', DEFAULT_GATE)}",
        "budget": f"{s.get('budget')}, {s.get('stopped') or 'not stopped (still running?)'}",
        "cases": f"{s.get('cases')} in {s.get('seconds')} s, {s.get('cases_per_s')} cases/s, {s.get('jobs')} workers",
        "verdicts": ", ".join(f"{k} {v}" for k, v in (s.get("verdicts") or {}).items()) or "none",
        "health": f"{s.get('timeouts', 0)} timeouts, {s.get('worker_crashes', 0)} worker crashes",
        "healthy": not s.get("timeouts") and not s.get("worker_crashes"),
        "examples": f"{s.get('examples')}, {s.get('compile_cache')}",
        "versions": versions(s),
    }


@dataclass(frozen=True)
class Kernels:
    """A finding's two kernels as its row's details show them, or why they are not there."""

    signature: str
    case: str | None  # the name of the case they are built from; None: the finding has no case file
    right: str  # what the right side is: the deferred kernel, a mutant's, a candidate's
    rows: list[Row]
    error: str | None = None  # why they could not be built


def kernels(f: FindingView) -> Kernels:
    case = f.file("minimized.json") or f.file("shrunk.json") or f.file("case.json")
    if case is None:
        return Kernels(f.signature, None, "", [])
    right = f"mutant {f.mutant}" if f.mutant else "deferred"
    if f.candidate:
        right = f"candidate {f.candidate.get('name')}"
    try:
        rows = side_by_side(case, f.mutant, Candidate.from_json(f.candidate) if f.candidate else None)
    except Exception as e:  # a case this version cannot build: said, not raised
        return Kernels(f.signature, case.name, right, [], f"{type(e).__name__}: {e}")
    return Kernels(f.signature, case.name, right, rows)


def findings(run: RunDir, dest: Path) -> dict[str, Any]:
    """The findings' rows, each with links to its files, and the kernels of the first few."""
    return {
        "rows": [(f, [link(p, dest) for n in FINDING_FILES if (p := f.file(n))]) for f in run.findings],
        "new": sum(f.new is True for f in run.findings),
        "kernels": [kernels(f) for f in run.findings[:KERNELS_SHOWN]],
        "not_shown": max(0, len(run.findings) - KERNELS_SHOWN),
    }


def fuzzing(run: RunDir, s: dict[str, Any]) -> dict[str, Any]:
    """What a fuzzing run (``run``, ``exhaust``) has and a corpus run has not, after its
    findings: coverage, timeline, compiles, gate audit, Helion's agreement."""
    return {
        "coverage": coverage(s),
        "timeline": charts.timeline(s.get("timeline") or []),
        "compiles": compiles(s),
        "gate": gate(run, s),
        "helion": helion(s),
    }


def coverage(s: dict[str, Any]) -> dict[str, Any]:
    reasons = s.get("coverage") or {}
    return {
        "chart": charts.coverage(s.get("branches") or {}),
        "reasons": reasons,
        "unreached": [r for r, n in reasons.items() if not n],
    }


def compiles(s: dict[str, Any]) -> dict[str, Any]:
    """The compile chart, and the most frequent rejection messages of both kernel sources."""
    tallies = {"the reference's kernels": s.get("tpu_compile") or {},
               "Helion's kernels": s.get("helion_tpu_compile") or {}}  # fmt: skip
    messages: dict[str, int] = {}
    for tally in tallies.values():
        for per_gen in tally.values():
            for message, n in per_gen.get("messages", {}).items():
                messages[message] = messages.get(message, 0) + n
    return {"chart": charts.compiles(tallies), "rejections": sorted(messages.items(), key=lambda kv: -kv[1])[:10]}


def gate(run: RunDir, s: dict[str, Any]) -> dict[str, Any]:
    """The gate audit's chart, or why there is none."""
    if run.gate is None:
        absent = "no gate audit in this run (no gate.jsonl; fuzzpass run --check-gate writes one)"
        if s.get("gate_audited"):
            absent = f"gate.jsonl is missing, though the run audited {s['gate_audited']} cases"
        return {"chart": None, "absent": absent, "audits": 0}
    return {
        "chart": charts.gate(run.gate, s.get("gate_generations")),
        "absent": "the audit compiled nothing on any generation",
        "audits": len(run.gate),
    }


def helion(s: dict[str, Any]) -> dict[str, Any] | None:
    """Helion's agreement with the reference and, on a run against a baseline Helion, what
    regressed and what was fixed; None where the run did not compare them."""
    decisions = s.get("helion_decisions")
    if not decisions:
        return None
    out: dict[str, Any] = {"decisions": list(decisions.items()), "baseline": None}
    if b := s.get("helion_baseline"):
        rows = [("cases compared", b["compared"]), ("not run on the baseline", b["not_run"])]
        rows += [(f"regressed: {k}", v) for k, v in b["regressed"].items()]
        rows += [(f"fixed (no finding): {k}", v) for k, v in b["fixed"].items()]
        out["baseline"] = {"version": str((s.get("versions") or {}).get("helion")), "of": b["helion"], "rows": rows}
    return out
