"""A candidate pass from a file: ``--pass FILE.py:NAME``, the loop from a finding to a fix.

NAME is a subclass of :class:`reference.defer.MaskDeferral` (the public base class: override
the predicate or step the fix changes, as the shipped mutants in ``judge/mutants.py`` do). It
replaces the reference pass in the deferred variant, exactly where a mutant would: a mutant is
a candidate that must be killed, a fix is one that must survive. A run records the file and
its sha256 with every finding, so a finding says which version of the candidate it was found
on, and reopening it with a changed file is refused rather than silently checking another pass.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.judge.mutants import MUTANTS, Mutant
from reference.defer import MaskDeferral


class CandidateError(ValueError):
    """A ``--pass`` that cannot be used, in one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Candidate:
    """A pass class in a file, and the file's sha256 when the run (or the finding) began."""

    file: str  # absolute
    name: str
    sha256: str

    @property
    def label(self) -> str:
        """``FILE.py:NAME`` as the user wrote it, the file made absolute."""
        return f"{self.file}:{self.name}"

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "name": self.name, "sha256": self.sha256}

    @classmethod
    def from_json(cls, data: Any) -> Candidate:
        """A candidate as a ``verdict.json`` or ``summary.json`` recorded it."""
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("file", "name", "sha256")):
            raise CandidateError(f"pass: expected {{file, name, sha256}}, got {data!r}")
        return cls(data["file"], data["name"], data["sha256"])

    def deferral(self) -> type[MaskDeferral]:
        """The class, loaded once per process; :class:`CandidateError` if the file changed."""
        now = digest(Path(self.file))
        if now != self.sha256:
            raise CandidateError(
                f"--pass {self.label}: the file changed since it was recorded (sha256 {self.sha256[:12]}, now "
                f"{now[:12]}); give --pass again to use it as it is now"
            )
        return _load(self.file, self.name, self.sha256)

    def as_mutant(self) -> Mutant:
        """The candidate where the checks take a pass: the deferred variant's."""
        return Mutant(self.label, f"candidate pass (sha256 {self.sha256[:12]})", self.deferral())


def digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise CandidateError(f"--pass {path}: {e.strerror or e}") from None


def parse(text: str) -> Candidate:
    """``FILE.py:NAME``, checked now: the file imports and NAME is a ``MaskDeferral`` subclass."""
    file, sep, name = text.rpartition(":")
    if not sep or not file or not name:
        raise CandidateError(f"--pass {text}: expected FILE.py:NAME (a MaskDeferral subclass in a Python file)")
    path = Path(file).expanduser().resolve()
    if not path.is_file():
        raise CandidateError(f"--pass {text}: {file} is not a file")
    candidate = Candidate(str(path), name, digest(path))
    candidate.deferral()
    return candidate


@functools.cache
def _load(file: str, name: str, sha256: str) -> type[MaskDeferral]:
    """Import ``file`` as a module of its own and return its class ``name`` (cached by the
    file's digest: a changed file is a different candidate)."""
    module_name = f"fuzzpass_candidate_{sha256[:16]}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise CandidateError(f"--pass {file}:{name}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look classes up by module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the user's file: whatever it raises, one line
        del sys.modules[module_name]
        first = str(e).splitlines()[0] if str(e) else ""
        raise CandidateError(f"--pass {file}:{name}: the file does not import: {type(e).__name__}: {first}") from None
    found = getattr(module, name, None)
    if found is None:
        raise CandidateError(f"--pass {file}:{name}: the file has no {name!r}")
    if not (isinstance(found, type) and issubclass(found, MaskDeferral)):
        raise CandidateError(f"--pass {file}:{name}: {name} is not a subclass of reference.defer.MaskDeferral")
    return found


def under_test(mutant: str | None, candidate: Candidate | None) -> Mutant | None:
    """The pass a check runs in the deferred variant: a candidate, a shipped mutant, or None
    (the reference pass)."""
    if candidate is not None:
        return candidate.as_mutant()
    return MUTANTS[mutant] if mutant else None
