"""The commands that start from one finding or one candidate: ``minimize`` and ``export`` (a
repro to paste), ``propose`` (a candidate pass as a diff of Helion) and ``bisect`` (the Helion
release or commit where a finding appeared or went)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from fuzzpass.commands import flags
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.passes import candidate
from fuzzpass.commands.say import say

if TYPE_CHECKING:
    from fuzzpass.repro.finding import Opened


def _finding_options(p: argparse.ArgumentParser) -> None:
    flags.add(p, "--backend", "--poison", "--mutant", "--pass", "--helion")


def open_finding(args: argparse.Namespace) -> Opened:
    """The case, its config and kind (``fuzzpass.repro.finding.Opened``), with the Helion it
    was found on selected and libtpu's environment set."""
    from fuzzpass.repro.finding import FindingError
    from fuzzpass.repro.finding import open_finding as opened_from

    tested = candidate(args)
    try:
        opened = opened_from(args.case, args.backend, args.poison, args.mutant, tested)
    except FindingError as e:
        raise UsageError(str(e)) from None
    from fuzzpass.backends import helions, schedule
    from fuzzpass.backends.environment import start_jax

    try:
        if args.helion:
            helions.resolve(args.helion).select()
        elif opened.helion is not None and not os.environ.get(helions.ENV):  # the Helion it was found on
            opened.helion.select()
    except helions.HelionError as e:
        raise UsageError(str(e)) from None
    if opened.config.gate:
        schedule.enable()  # before JAX starts libtpu
    start_jax(opened.config.backend)
    return opened


def minimize_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", help="a failing case file (a finding's case.json, or any case)")
    flags.add(p, "--output", required=True)
    _finding_options(p)
    p.add_argument("--seconds", type=flags.positive, default=60.0, help="time limit (default 60)")


def minimize_command(args: argparse.Namespace) -> int:
    case, config, kind, _ = open_finding(args)
    from fuzzpass.repro.minimize import minimize, size

    say(f"minimizing {args.case} (backend {config.backend}, poison {config.poison}"
        f"{', mutant ' + config.mutant if config.mutant else ''}"
        f"{', pass ' + config.candidate.label if config.candidate else ''})")  # fmt: skip
    try:
        result = minimize(case, config, args.seconds, log=say, kind=kind)
    except ValueError as e:
        raise UsageError(f"{args.case}: {e}") from None
    before, after = size(result.original.to_json()), size(result.case.to_json())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(result.case.dumps() + "\n")
    say(f"{before[0]} nodes, rank {before[1]} -> {after[0]} nodes, rank {after[1]} in {result.seconds:.1f} s "
        f"({result.checks} checks): {args.output}")  # fmt: skip
    return 0


def export_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", help="a failing case file")
    target = p.add_mutually_exclusive_group(required=True)
    flags.add(target, "--output")
    target.add_argument("--pytest", type=Path, metavar="DIR", help="write DIR/test_<case>.py instead of a script")
    _finding_options(p)


def export_command(args: argparse.Namespace) -> int:
    case, config, kind, _ = open_finding(args)
    from fuzzpass.repro import export

    command = "fuzzpass " + " ".join(sys.argv[1:])
    if args.pytest is not None:
        path = export.write_pytest(case, config, args.pytest)
    else:
        try:
            path = export.write_repro(case, config, args.output, command, kind)
        except ValueError as e:
            raise UsageError(f"{args.case}: {e}") from None
    say(f"wrote {path}")
    return 0


def propose_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("candidate", metavar="FILE.py:NAME", help="a candidate pass with helion_edits")
    flags.add(p, "--output")


def propose_command(args: argparse.Namespace) -> int:
    from fuzzpass.backends import helion_patch

    tested = candidate(args)
    assert tested is not None  # the positional FILE.py:NAME
    try:
        diff = helion_patch.proposal(tested.deferral(), args.candidate)
    except helion_patch.PatchError as e:
        raise UsageError(f"propose: {e}") from None
    output = args.output or flags.DEFAULT_OUTPUT["propose"]
    output.write_text(diff)
    root = helion_patch.installed_root()
    print(f"wrote {output}: {args.candidate} as a diff of {helion_patch.TARGET} (Helion in {root})")
    print(f"apply it:  patch -p1 -d {root} < {output}")
    print(f"check it:  fuzzpass run --backend helion --pass {args.candidate} --helion-patch {output}")
    return 0


def bisect_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", type=Path, help="a Helion finding's case.json (its verdict.json beside it)")
    p.add_argument(
        "--releases",
        metavar="A..B|A,B,..",
        help="releases to search, oldest first (default: the two a helion-regression names)",
    )
    p.add_argument("--helion-repo", type=Path, metavar="PATH", help="search a Helion checkout's commits instead")
    p.add_argument("--good", metavar="REV", help="with --helion-repo: the oldest commit of the range")
    p.add_argument("--bad", metavar="REV", default="HEAD", help="with --helion-repo: the newest (default HEAD)")
    flags.add(p, "--tpu")
    p.add_argument(
        "--log-dir",
        type=Path,
        metavar="DIR",
        help="where bisect.log and bisect.json go (default: CASE's folder/bisect, where the report finds them)",
    )


def bisect_command(args: argparse.Namespace) -> int:
    from fuzzpass.repro import bisect

    try:
        finding = bisect.recorded(args.case)
        steps, helion_of = bisect.plan(finding, args.releases, args.helion_repo, args.good, args.bad)
    except bisect.BisectError as e:
        raise UsageError(str(e)) from None
    log_dir = args.log_dir or args.case.parent / "bisect"
    say(f"fuzzpass bisect: {len(steps)} steps from {steps[0].name} to {steps[-1].name}")
    result = bisect.bisect(finding, args.case, steps, helion_of, log_dir, ["--tpu", ",".join(args.tpu) or "none"])
    print(result.answer)
    say(f"log: {log_dir / 'bisect.log'}")
    return 0 if result.boundary else 1
