"""The ``fuzzpass`` command: assembles the parser from each command's options and dispatches to
its body (``fuzzpass.commands``).

JAX and libtpu are imported only inside the commands that need them, so ``--help`` and a
malformed case file answer at once. Exit codes: 0 the case holds, 1 a defect was found,
2 the file or the command line is invalid (one line naming the flag or the field).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from fuzzpass.commands import check, corpus, fuzzing, reports, repros
from fuzzpass.commands.flags import UsageError


class Command(NamedTuple):
    """A subcommand: its one-line help, the constructor that adds its options, its body."""

    help: str
    options: Callable[[argparse.ArgumentParser], None]
    body: Callable[[argparse.Namespace], int]


COMMANDS = {
    "check": Command("compile one case with and without deferral and judge both", check.options, check.command),
    "run": Command(
        "fuzz: draw cases and check them until the budget is spent", fuzzing.run_options, fuzzing.run_command
    ),
    "bench": Command(
        "the dense-KV benchmark table: measured TFLOP/s quoted, static speedups",
        reports.bench_options,
        reports.bench_command,
    ),
    "gate-report": Command(
        "summarize a --check-gate run, per generation and pattern",
        reports.gate_report_options,
        reports.gate_report_command,
    ),
    "report": Command(
        "the morning report: one self-contained HTML page of a run", reports.report_options, reports.report_command
    ),
    "minimize": Command(
        "shrink a failing case while it fails the same way", repros.minimize_options, repros.minimize_command
    ),
    "export": Command(
        "write a standalone repro script, or a pytest regression test", repros.export_options, repros.export_command
    ),
    "mutants": Command(
        "run each deliberately broken pass until it is killed", fuzzing.mutants_options, fuzzing.mutants_command
    ),
    "propose": Command(
        "write a candidate pass as a patch against the installed Helion",
        repros.propose_options,
        repros.propose_command,
    ),
    "bisect": Command(
        "the Helion release or commit where a Helion finding appeared or went",
        repros.bisect_options,
        repros.bisect_command,
    ),
    "exhaust": Command(
        "check every structure the generators can draw up to K graph nodes",
        fuzzing.exhaust_options,
        fuzzing.exhaust_command,
    ),
    "corpus": Command(
        "check the pass on real Helion kernels: files, directories, test files", corpus.options, corpus.command
    ),
}
"""Every subcommand, in the order ``fuzzpass --help`` lists them."""


class _Parser(argparse.ArgumentParser):
    """No abbreviated flags (``--out`` is not ``--output``: one flag, one meaning); a bad flag is
    a usage error like any other: one line, exit 2."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs, allow_abbrev=False)

    def error(self, message: str) -> None:
        raise UsageError(message)


def parser() -> argparse.ArgumentParser:
    top = _Parser(prog="fuzzpass", description="Differential testing of defer_pallas_load_masks.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        command.options(sub.add_parser(name, help=command.help))
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and run its command; a :class:`UsageError` raised anywhere on the way is
    printed as one line, ``fuzzpass: error: <message>``, and exits 2."""
    try:
        args = parser().parse_args(argv)
        return COMMANDS[args.command].body(args)
    except UsageError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2


def entry() -> None:
    """The installed ``fuzzpass`` and ``python -m fuzzpass``: :func:`main`, then the process
    ends by :func:`~fuzzpass.backends.environment.exit_process` (tests call :func:`main`)."""
    from fuzzpass.backends.environment import exit_process

    exit_process(main())


if __name__ == "__main__":
    entry()
