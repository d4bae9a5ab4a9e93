"""Every option that more than one command takes, defined once: its flag, type, help and
default, so that ``--tpu`` or ``--timeout`` means the same on every command that has it
(``tests/test_cli_flags.py`` walks the parser to keep it so). A command picks its shared
options with :func:`add` and adds those of its own beside its body.

Nothing here imports torch or JAX: ``fuzzpass --help`` answers at once. The names a choice
ranges over are listed here for that reason, each kept in step with its registry by a test.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from fuzzpass.backends import BACKENDS
from fuzzpass.backends import DEFAULT as DEFAULT_BACKEND
from fuzzpass.fuzz.options import TIMEOUT, Budget, BudgetError
from generators.policies import POLICIES


class UsageError(Exception):
    """A command rejects its input: one line naming the flag or the file's field. ``main``
    prints it as ``fuzzpass: error: <message>`` and exits 2, as argparse does for a bad flag."""


MUTANT_NAMES = (
    "through-reshape",
    "ignore-second-use",
    "drop-remask",
    "nonzero-fill",
    "wrong-axis",
    "off-by-one",
    "inverted-gate",
    "bool-remask",
    "forced-drops-remask",
    "partner-without-exception",
    "mul-without-strict-float",
    "no-broadcast-rule",
    "consumers-missing-one",
)
"""``fuzzpass.judge.mutants.MUTANTS``' names."""

POISON_NAMES = ("nan", "finite", "zero")
"""``fuzzpass.core.data.POISONS``, the first the default."""

GATE_NAMES = ("positional", "layout", "generation")
"""``reference.gates.GATES``' names, the first ``reference.gates.DEFAULT``."""

GENERATION_NAMES = ("v4", "v5e", "v5p", "v6e", "tpu7x")
"""``fuzzpass.backends.tpu_aot.TOPOLOGIES``' generations, oldest first (``--tpu all``)."""

DEFAULT_GENERATIONS = ("v5e", "v6e")
"""``fuzzpass.backends.tpu_aot.DEFAULT_GENERATIONS``: what ``--tpu`` compiles for unless told."""

DEFAULT_BUDGET = "60s"
"""What a fuzz run (each mutant's, for ``fuzzpass mutants``) is given without ``--budget``."""

DEFAULT_OUT = {"run": Path("fuzzpass-out"), "exhaust": Path("fuzzpass-exhaust"), "corpus": Path("fuzzpass-corpus")}
"""Where a command writes without ``--out``; ``fuzzpass mutants`` keeps nothing without it."""

DEFAULT_OUTPUT = {"propose": Path("node_masking.patch")}
"""The file a command writes without ``-o``; ``report`` writes ``OUT/report.html``."""


def generations(text: str) -> tuple[str, ...]:
    """``--tpu``: ``v5e,v6e``, ``all`` or ``none`` (no TPU compiles)."""
    words = tuple(g.strip() for g in text.split(",") if g.strip())
    if words == ("none",):
        return ()
    if words == ("all",):
        return GENERATION_NAMES
    unknown = [g for g in words if g not in GENERATION_NAMES]
    if unknown or not words:
        known = ", ".join(GENERATION_NAMES)
        raise argparse.ArgumentTypeError(f"unknown TPU generation {unknown or text!r} (known: {known}, all, none)")
    return words


def budget(text: str) -> Budget:
    try:
        return Budget.parse(text)
    except BudgetError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def names(text: str) -> tuple[str, ...]:
    """``--only``: comma-separated names, at least one."""
    found = tuple(n.strip() for n in text.split(",") if n.strip())
    if not found:
        raise argparse.ArgumentTypeError(f"{text!r} names nothing")
    return found


def _defaults(table: dict[str, Path]) -> str:
    return ", ".join(f"{path} for {command}" for command, path in table.items())


FLAGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "--seed": (("--seed",), {
        "type": int, "metavar": "N",
        "help": "seeds every random choice (default: random, printed and stored; rerun with --seed N)",
    }),
    "--jobs": (("--jobs",), {
        "type": positive_int, "metavar": "N",
        "help": "worker processes (default: one per core; with --backend tpu, one per chip)",
    }),
    "--budget": (("--budget",), {
        "type": budget,
        "help": f"when to stop: seconds (120, 10m, 2h) or cases (500cases) (default {DEFAULT_BUDGET}, per mutant "
        "for mutants; exhaust: when every structure is checked)",
    }),
    "--policy": (("--policy",), {
        "choices": tuple(POLICIES),
        "help": "what the generators draw (default: mixed; with --backend helion: helion, cases Helion can state; "
        "mutants: each mutant's own, the structures that reach what it breaks)",
    }),
    "--backend": (("--backend",), {
        "choices": BACKENDS,
        "help": f"where the kernels compile and run (default: {DEFAULT_BACKEND}, and check also compiles for "
        "--tpu where libtpu is installed; minimize and export: the finding's)",
    }),
    "--poison": (("--poison",), {
        "choices": POISON_NAMES,
        "help": f"what lies past the end of every input (default {POISON_NAMES[0]}; minimize and export: the "
        "finding's)",
    }),
    "--mutant": (("--mutant",), {
        "choices": MUTANT_NAMES,
        "help": "a deliberately broken pass in place of the reference (fuzzpass mutants kills them all; "
        "minimize and export: default the finding's)",
    }),
    "--pass": (("--pass",), {
        "dest": "candidate", "metavar": "FILE.py:NAME",
        "help": "a reference.defer.MaskDeferral subclass in FILE.py in place of the reference pass (minimize and "
        "export: default the finding's; mutants: killed instead of the shipped mutants)",
    }),
    "--gate": (("--gate",), {
        "choices": GATE_NAMES, "default": GATE_NAMES[0],
        "help": f"the reference pass's profitability gate (default {GATE_NAMES[0]}: Helion's; generation: "
        "layout told the target generation, the first of --tpu)",
    }),
    "--helion": (("--helion",), {
        "metavar": "DIR|VERSION",
        "help": "the Helion --backend helion tests: a directory holding a helion package (a checkout's root), "
        "a release fuzzpass installs into its cache, or installed (the default; minimize and export: the Helion "
        "the finding was found on)",
    }),
    "--helion-baseline": (("--helion-baseline",), {
        "metavar": "DIR|VERSION",
        "help": "check every expressible case with this Helion too: what it gets right and --helion wrong is a "
        "helion-regression finding, what it got wrong and --helion right is counted as fixed",
    }),
    "--tpu": (("--tpu",), {
        "type": generations, "default": DEFAULT_GENERATIONS, "metavar": "GENS",
        "help": f"TPU generations compiled for ({','.join(GENERATION_NAMES)}; all; none: no TPU compiles; "
        f"default {','.join(DEFAULT_GENERATIONS)})",
    }),
    "--timeout": (("--timeout",), {
        "type": positive, "default": TIMEOUT, "metavar": "S",
        "help": "seconds a worker may spend on one unit of work (a case; a test entry or a kernel call) before it "
        f"is replaced (default {TIMEOUT:g})",
    }),
    "--out": (("--out",), {
        "type": Path, "metavar": "DIR",
        "help": f"the directory the command writes to (default: {_defaults(DEFAULT_OUT)}; mutants: a temporary "
        "one, kept under DIR/<mutant> if given)",
    }),
    "--output": (("-o", "--output"), {
        "type": Path, "metavar": "FILE",
        "help": f"the file to write (default: {_defaults(DEFAULT_OUTPUT)}, OUT/report.html for report)",
    }),
    "--examples": (("--examples",), {
        "metavar": "DIR|URL",
        "help": "the Hypothesis example database: a directory or a redis:// URL that runs on several hosts share "
        "(default OUT/examples); corpus adds the fired kernels' cases to it as seeds for run",
    }),
    "--ray": (("--ray",), {
        "nargs": "?", "const": "local", "metavar": "ADDRESS",
        "help": "workers as Ray actors: on the Ray cluster at ADDRESS, or on a local one started for the run",
    }),
    "--only": (("--only",), {
        "type": names, "metavar": "NAMES",
        "help": "only these, comma-separated (mutants: mutant names; corpus: kernel names; default all)",
    }),
    "--json": (("--json",), {
        "action": "store_true",
        "help": "print the result as JSON on stdout (check: the verdict; mutants: a row per mutant; "
        "the others: summary.json)",
    }),
    "--quiet": (("--quiet",), {"action": "store_true", "help": "no progress display"}),
    "--stop-at-first": (("--stop-at-first",), {"action": "store_true", "help": "stop at the first finding"}),
    "--no-minimize": (("--no-minimize",), {
        "action": "store_true", "help": "keep findings as found (no shrinking, no repro)",
    }),
}  # fmt: skip
"""The shared options, by their long flag: the names they are given by and argparse's keywords."""


def add(target: argparse._ActionsContainer, *flags: str, required: bool = False) -> None:
    """Add the shared options ``flags`` (long names) to a command's parser or group."""
    for flag in flags:
        option_strings, keywords = FLAGS[flag]
        target.add_argument(*option_strings, **keywords, **({"required": True} if required else {}))


def out_of(args: argparse.Namespace) -> Path:
    """``--out``, else the command's own directory (:data:`DEFAULT_OUT`)."""
    return args.out if args.out is not None else DEFAULT_OUT[args.command]


def seed_of(args: argparse.Namespace) -> int:
    """``--seed``, else a random one (the command prints and stores it)."""
    return args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
