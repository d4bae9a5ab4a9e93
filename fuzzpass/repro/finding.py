"""A finding opened for ``minimize`` and ``export``: its case, and the config it failed under.

Options given on the command line win; otherwise the finding's ``verdict.json`` (beside its
``case.json``) says which backend, poison, mutant and, for a ``gate`` or ``compile``
finding (the reference's or Helion's), which generation it was found on. Any case file works
too: without a ``verdict.json`` the defaults apply.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

from fuzzpass.backends.helions import Helion, HelionError, resolve
from fuzzpass.core.case import Case, CaseError, load_case
from fuzzpass.judge.candidate import Candidate, CandidateError
from fuzzpass.judge.checked import Config
from reference.gates import DEFAULT as DEFAULT_GATE


class FindingError(ValueError):
    """A finding that cannot be opened: the file and the reason, in one line."""


class Opened(NamedTuple):
    """A finding's case, the config it failed under, and its kind (None without a
    ``verdict.json``: whatever the case's check finds first); ``helion``: the Helion it was
    found on (None: not recorded, or the installed one)."""

    case: Case
    config: Config
    kind: str | None
    helion: Helion | None = None


def open_finding(
    path: str | Path,
    backend: str | None = None,
    poison: str | None = None,
    mutant: str | None = None,
    candidate: Candidate | None = None,
) -> Opened:
    """The case at ``path``, its config and kind; :class:`FindingError` for an unreadable file,
    or a recorded candidate pass whose file is gone or has changed since (give ``--pass``)."""
    verdict_path = Path(path).with_name("verdict.json")
    try:
        case = load_case(path)
    except CaseError as e:
        raise FindingError(f"{path}: {e}") from None
    try:
        recorded = json.loads(verdict_path.read_text()) if verdict_path.is_file() else {}
    except (OSError, ValueError) as e:
        raise FindingError(f"{verdict_path}: {e}") from None
    kind = recorded.get("verdict")
    findings = [f for f in recorded.get("findings", []) if f["kind"] == kind]
    found_on = tuple(dict.fromkeys(f["message"].split(":")[0] for f in findings))
    gate = generations = None
    if kind in ("gate", "helion-gate"):  # judge the generation it was found on, compile no other
        gate, generations = found_on, ()
    elif kind in ("compile", "helion-compile"):  # compile for the generation it was found on
        generations = found_on
    elif recorded.get("gate") and any(f.get("variant") in recorded.get("audited", {}) for f in findings):
        gate = tuple(recorded["gate"]["counts"])  # a kernel only the gate audit builds (the forced one)
    check_forced = any(f.get("variant") == "forced" for f in findings) and gate is None  # ``mutants``' check
    if candidate is None and recorded.get("pass") and not mutant:
        try:
            candidate = Candidate.from_json(recorded["pass"])
            candidate.deferral()  # the file as it was when the finding was made
        except CandidateError as e:
            raise FindingError(f"{verdict_path}: {e}") from None
    config = Config(
        backend=backend or recorded_backend(recorded),
        poison=poison or recorded.get("poison", "nan"),
        mutant=mutant if mutant or candidate else recorded.get("mutant"),
        generations=generations,
        gate=gate,
        candidate=candidate,
        gate_rule=recorded.get("gate_rule") or DEFAULT_GATE,
        check_forced=check_forced,
        baseline=recorded_helion((recorded.get("helion_baseline") or {}).get("source")),
    )
    return Opened(case, config, kind, recorded_helion((recorded.get("helion") or {}).get("source")))


def recorded_helion(source: dict[str, Any] | None) -> Helion | None:
    """The Helion a finding names (``helions.Helion.to_json``), or None where it names none.
    A release whose directory is gone (the finding came from another machine) is found, or
    installed, in this machine's cache; any other Helion that is gone is a FindingError."""
    if not source:
        return None
    helion = Helion.from_json(source)
    if helion.root is None or helion.root.is_dir():
        return helion
    try:
        return resolve(helion.label, "the finding's Helion")
    except HelionError:
        raise FindingError(
            f"the Helion it was found on ({helion.label}, {helion.root}) is not here: give --helion"
        ) from None


def recorded_backend(recorded: dict[str, Any]) -> str:
    """The backend a finding was found on, from its ``verdict.json``."""
    if recorded.get("helion") or str(recorded.get("verdict", "")).startswith("helion-"):
        return "helion"
    return "tpu-aot" if recorded.get("verdict") == "compile" else "interpret"
