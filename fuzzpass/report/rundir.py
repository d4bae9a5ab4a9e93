"""What a run left under its ``--out`` directory, read for the report: every file optional, every
read that fails one line in :attr:`RunDir.missing`, never an exception."""

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

    def file(self, name: str) -> Path | None:
        path = self.directory / name
        return path if path.is_file() else None


@dataclass
class RunDir:
    """A run's directory: its summary, findings and gate audit, and what could not be read."""

    out: Path
    summary: dict[str, Any] | None = None
    findings: list[FindingView] = field(default_factory=list)
    gate: list[dict[str, Any]] | None = None
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


def nodes(path: Path) -> int | None:
    """Graph nodes of a case file (loads and stores included), or None where there is none."""
    try:
        return len(json.loads(path.read_text())["graph"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load(out: Path) -> RunDir:
    """Everything the report needs from ``out``."""
    run = RunDir(out)
    summary = read_json(out / "summary.json", run.missing, "the run's summary")
    run.summary = summary if isinstance(summary, dict) else None
    recorded = {Path(f["case"]).parent.name: f for f in (run.summary or {}).get("findings", []) if "case" in f}
    directories = sorted(p for p in (out / "findings").glob("*") if p.is_dir()) if (out / "findings").is_dir() else []
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
            )
        )
    for name in set(recorded) - {d.name for d in directories}:
        run.missing.append(f"finding {name}: in summary.json, but its directory is not under findings/")
    run.findings.sort(key=lambda f: (f.new is not True, f.first_at_s if f.first_at_s is not None else float("inf")))
    gate_path = out / "gate.jsonl"
    if gate_path.is_file():
        run.gate = []
        for number, line in enumerate(gate_path.read_text(errors="replace").splitlines(), 1):
            try:
                if line.strip():
                    run.gate.append(json.loads(line))
            except json.JSONDecodeError:
                run.missing.append(f"the gate audit: gate.jsonl line {number} cannot be read")
    return run
