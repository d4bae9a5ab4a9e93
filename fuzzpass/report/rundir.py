"""What a run left under its ``--out`` directory, read for the report: every file optional, every
read that fails one line in :attr:`RunDir.missing`, never an exception. A ``fuzzpass corpus``
run's directory is read the same way: its ``kernels.jsonl`` into :attr:`RunDir.kernels`, its
findings (``kernel.json``, no ``verdict.json``) left to the page's "Real kernels" section."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FindingView:
    """One finding as the report shows it."""

    directory: Path
    signature: str
    kind: str
    count: int | None = None
    first_at_s: float | None = None
    new: bool | None = None
    mutant: str | None = None
    candidate: dict[str, str] | None = None  # the candidate pass it was found on (file, name, sha256)
    nodes: int | None = None  # graph nodes of the case as found
    minimized_nodes: int | None = None
    bisected: str | None = None  # ``fuzzpass bisect``'s answer (``bisect/bisect.json`` beside the case)

    def file(self, name: str) -> Path | None:
        path = self.directory / name
        return path if path.is_file() else None


@dataclass
class RunDir:
    """A run's directory: its summary, findings and gate audit, the real kernels a ``fuzzpass
    corpus`` run checked, and what could not be read."""

    out: Path
    summary: dict[str, Any] | None = None
    findings: list[FindingView] = field(default_factory=list)
    gate: list[dict[str, Any]] | None = None
    kernels: list[dict[str, Any]] | None = None  # kernels.jsonl's events; None: no such file
    missing: list[str] = field(default_factory=list)


def read_json(path: Path, missing: list[str], what: str) -> Any:
    """``path`` parsed, or None with a line in ``missing`` saying why."""
    if not path.is_file():
        missing.append(f"{what}: {path.name} is not there")
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        missing.append(f"{what}: {path.name} cannot be read ({type(e).__name__}: {str(e).splitlines()[0]})")
        return None


def bisected(path: Path, missing: list[str]) -> str | None:
    """What ``fuzzpass bisect`` said of a finding, or None where it was not bisected."""
    if not path.is_file():
        return None
    found = read_json(path, missing, f"the bisection of {path.parent.parent.name}")
    return str(found.get("answer")) if isinstance(found, dict) else None


def nodes(path: Path) -> int | None:
    """Graph nodes of a case file (loads and stores included), or None where there is none."""
    try:
        return len(json.loads(path.read_text())["graph"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_lines(path: Path, missing: list[str], what: str) -> list[dict[str, Any]] | None:
    """The JSON objects of a ``.jsonl`` file, one a line, or None when there is no such file: a
    line that is not one (a run killed mid-write leaves half a line) is a line in ``missing``."""
    if not path.is_file():
        return None
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        missing.append(f"{what}: {path.name} cannot be read ({type(e).__name__})")
        return None
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        else:
            missing.append(f"{what}: {path.name} line {number} cannot be read")
    return records


def corpus_directories(summary: dict[str, Any] | None) -> set[str]:
    """The finding directories a ``fuzzpass corpus`` run listed: they hold a real kernel's
    files, not a case's ``verdict.json``, and the "Real kernels" section shows them."""
    corpus = (summary or {}).get("corpus")
    listed = corpus.get("findings") if isinstance(corpus, dict) else None
    if not isinstance(listed, list):
        return set()
    return {Path(str(f["directory"])).name for f in listed if isinstance(f, dict) and f.get("directory")}


def load(out: Path) -> RunDir:
    """Everything the report needs from ``out``."""
    run = RunDir(out)
    summary = read_json(out / "summary.json", run.missing, "the run's summary")
    run.summary = summary if isinstance(summary, dict) else None
    recorded = {Path(f["case"]).parent.name: f for f in (run.summary or {}).get("findings", []) if "case" in f}
    corpus = corpus_directories(run.summary)
    directories = sorted(p for p in (out / "findings").glob("*") if p.is_dir()) if (out / "findings").is_dir() else []
    for name in sorted(corpus - {d.name for d in directories}):
        run.missing.append(f"real kernel finding {name}: in summary.json, but its directory is not under findings/")
    directories = [d for d in directories if d.name not in corpus]
    for directory in directories:
        f = recorded.get(directory.name, {})
        verdict = read_json(directory / "verdict.json", run.missing, f"finding {directory.name}")
        verdict = verdict if isinstance(verdict, dict) else {}
        run.findings.append(
            FindingView(
                directory=directory,
                signature=f.get("signature", directory.name),
                kind=f.get("kind") or verdict.get("verdict") or "unknown",
                count=f.get("count"),
                first_at_s=f.get("first_at_s"),
                new=f.get("new"),
                mutant=verdict.get("mutant"),
                candidate=verdict.get("pass"),
                nodes=nodes(directory / "case.json"),
                minimized_nodes=nodes(directory / "minimized.json"),
                bisected=bisected(directory / "bisect" / "bisect.json", run.missing),
            )
        )
    for name in set(recorded) - {d.name for d in directories}:
        run.missing.append(f"finding {name}: in summary.json, but its directory is not under findings/")
    run.findings.sort(  # Helion's regressions first (the nightly against Helion's main), then new ones
        key=lambda f: (
            f.kind != "helion-regression",
            f.new is not True,
            f.first_at_s if f.first_at_s is not None else float("inf"),
        )
    )
    run.gate = read_lines(out / "gate.jsonl", run.missing, "the gate audit")
    run.kernels = read_lines(out / "kernels.jsonl", run.missing, "the real kernels")
    if run.kernels is None and isinstance((run.summary or {}).get("corpus"), dict):
        run.missing.append("the real kernels: kernels.jsonl is not there (the counts are from summary.json)")
    return run
