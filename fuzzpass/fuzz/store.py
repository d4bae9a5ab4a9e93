"""``--out/findings``: one directory per finding signature, written the moment it is found.

Each finding is its first case (``case.json``, a case file ``fuzzpass check`` runs) and the
check's report (``verdict.json``), written atomically so that a reader, or a run killed
mid-write, never sees half a file. Signatures already under ``--out`` before this run are
remembered, so ``--fail-on new`` can tell a new finding from a known one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.core.files import write_atomically
from fuzzpass.judge.checked import Checked
from fuzzpass.judge.signature import Signature, blank_numbers


@dataclass
class Finding:
    """One signature seen in this run: where its first case lies and how often it recurred."""

    signature: Signature
    case: Path
    verdict: Path
    first_at: float
    count: int = 1
    new: bool = True  # not in ``--out`` before this run
    worker: tuple[int, int] | None = None  # (index, incarnation) that found it, while it shrinks
    shrunk: Path | None = None  # Hypothesis' smallest failing example
    minimized: Path | None = None  # after ``fuzzpass minimize``
    repro: Path | None = None  # ``fuzzpass export``'s standalone script

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": str(self.signature),
            **self.signature.to_json(),
            "count": self.count,
            "first_at_s": round(self.first_at, 2),
            "case": str(self.case),
            "verdict_json": str(self.verdict),
            "new": self.new,
            "shrunk": str(self.shrunk) if self.shrunk else None,
            "minimized": str(self.minimized) if self.minimized else None,
            "repro": str(self.repro) if self.repro else None,
        }


def _recorded(path: Path) -> Signature | None:
    """The signature a finding's ``verdict.json`` records; None for a file that is not one."""
    try:
        recorded = json.loads(path.read_text())["signature"]
        return Signature(recorded["kind"], recorded["rule"], recorded["pattern"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class FindingStore:
    """``--out/findings``: one directory per signature, its first case and verdict."""

    def __init__(self, out: Path) -> None:
        self.root = out / "findings"
        self.previous = {sig for p in sorted(self.root.glob("*/verdict.json")) if (sig := _recorded(p))}
        self.found: dict[Signature, Finding] = {}

    def add(self, checked: Checked, at: float) -> Finding | None:
        """Record ``checked``'s finding; the :class:`Finding` when its signature is new here."""
        sig = checked.signature
        assert sig is not None
        if sig in self.found:
            self.found[sig].count += 1
            return None
        where = self.root / sig.slug
        report = dict(checked.report, signature=sig.to_json())
        write_atomically(where / "case.json", checked.case + "\n")
        write_atomically(where / "verdict.json", json.dumps(report, indent=2) + "\n")
        finding = Finding(sig, where / "case.json", where / "verdict.json", at, new=sig not in self.previous)
        self.found[sig] = finding
        return finding


class UnsupportedStore:
    """``--out/unsupported``: the first case of each reason the TPU compiler gave for building
    no variant of a case (``tpu-unsupported``: ours; ``helion-tpu-unsupported``: Helion's).
    Not findings about the pass: each is a bug report for our codegen, Mosaic or Helion's TPU
    backend, so one example per message (numbers blanked) is kept, across runs under the
    same ``--out``."""

    def __init__(self, out: Path) -> None:
        self.root = out / "unsupported"
        self.examples: dict[str, Path] = {}

    def add(self, checked: Checked) -> None:
        for found in checked.report["findings"]:
            if found["kind"] not in ("tpu-unsupported", "helion-tpu-unsupported"):
                continue
            said = blank_numbers(found["message"].partition(": ")[2] or found["message"])
            key = f"{found['kind']}: {said}"
            if key in self.examples:
                continue
            where = self.root / Signature(found["kind"], said, "any").slug
            if not (where / "case.json").is_file():
                write_atomically(where / "case.json", checked.case + "\n")
                write_atomically(where / "verdict.json", json.dumps(checked.report, indent=2) + "\n")
            self.examples[key] = where / "case.json"
