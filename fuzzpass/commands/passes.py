"""What is under test besides the reference pass: a candidate pass (``--pass``), and which
Helion the workers import (``--helion``, ``--helion-baseline``, ``--helion-patch``). Each is
settled before anything imports Helion, and each refusal names its flag."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from fuzzpass.backends import backend
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.say import say

if TYPE_CHECKING:
    from fuzzpass.backends.helions import Helion
    from fuzzpass.judge.candidate import Candidate


def candidate(args: argparse.Namespace) -> Candidate | None:
    """The ``--pass`` candidate, None without one; :class:`UsageError` when the file or class
    cannot be used, or ``--mutant`` is given too."""
    if getattr(args, "candidate", None) is None:
        return None
    if getattr(args, "mutant", None):
        raise UsageError("--pass and --mutant: give one pass to check")
    from fuzzpass.judge.candidate import CandidateError, parse

    try:
        return parse(args.candidate)
    except CandidateError as e:
        raise UsageError(str(e)) from None


def choose_helions(args: argparse.Namespace, backend_name: str | None) -> Helion | None:
    """``--helion`` selected for this process's workers, and the ``--helion-baseline`` returned
    (None without one)."""
    from fuzzpass.backends import helions

    if (args.helion or args.helion_baseline) and not (backend_name and backend(backend_name).helion):
        raise UsageError(f"--helion{'-baseline' if args.helion_baseline else ''}: only with --backend helion")
    baseline = None
    try:
        if args.helion:
            helions.resolve(args.helion).select()
        if args.helion_baseline:
            baseline = helions.resolve(args.helion_baseline, "--helion-baseline")
    except helions.HelionError as e:
        raise UsageError(str(e)) from None
    if baseline is not None:
        say(f"fuzzpass {args.command}: Helion {helions.label()}, baseline {baseline.label}")
    return baseline


def patch_helion(args: argparse.Namespace, backend_name: str, out: Path) -> None:
    """``--helion-patch``: Helion with the diff applied, copied under ``OUT`` before anything
    imports Helion (every worker imports that copy)."""
    from fuzzpass.backends import helion_patch, helions

    if not backend(backend_name).helion:
        raise UsageError("--helion-patch: only with --backend helion")
    try:
        source = helions.resolve(args.helion) if args.helion else None
        digest = helion_patch.patched_copy(args.helion_patch, out.resolve() / "helion-patched", source)
    except helion_patch.PatchError as e:
        raise UsageError(str(e)) from None
    say(f"fuzzpass run: Helion with {args.helion_patch} applied (sha256 {digest[:12]})")
