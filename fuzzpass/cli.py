"""The ``fuzzpass`` command: parses arguments and calls library functions.

JAX and libtpu are imported only inside the commands that need them, so ``--help`` and a
malformed case file answer at once. Exit codes: 0 the case holds, 1 a defect was found,
2 the file or the command line is invalid (one line naming the field).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fuzzpass.data import POISONS

MUTANT_NAMES = (
    "through-reshape",
    "ignore-second-use",
    "drop-remask",
    "nonzero-fill",
    "wrong-axis",
    "off-by-one",
    "inverted-gate",
)
"""``fuzzpass.mutants.MUTANTS``' names, listed here so that ``--help`` does not import torch
(a test keeps the two in step)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for a bad case file
        print(f"fuzzpass: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _generations(text: str) -> tuple[str, ...]:
    from fuzzpass.backends.tpu_aot import TOPOLOGIES

    gens = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in gens if g not in TOPOLOGIES]
    if unknown or not gens:
        raise argparse.ArgumentTypeError(f"unknown TPU generation {unknown or text!r} (known: {', '.join(TOPOLOGIES)})")
    return gens


def parser() -> argparse.ArgumentParser:
    from fuzzpass.backends import BACKENDS

    top = _Parser(prog="fuzzpass", description="Differential testing of defer_pallas_load_masks.")
    sub = top.add_subparsers(dest="command", required=True, parser_class=_Parser)
    check = sub.add_parser("check", help="compile one case with and without deferral and judge both")
    check.add_argument("case", help="a fuzzpass.case/1 JSON file")
    check.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    check.add_argument(
        "--backend",
        choices=BACKENDS,
        help="where to run (default: interpret numerics, plus tpu-aot compiles where libtpu is installed)",
    )
    check.add_argument("--poison", choices=POISONS, default="nan", help="what lies past the end of every input")
    check.add_argument(
        "--tpu", type=_generations, default=None, metavar="GENS", help="TPU generations for tpu-aot (default v5e,v6e)"
    )
    check.add_argument("--show-source", action="store_true", help="print both kernels' Pallas source")
    check.add_argument(
        "--mutant", choices=MUTANT_NAMES, help="check a deliberately broken pass instead of the real one"
    )

    run = sub.add_parser("run", help="fuzz: draw cases and check them until the budget is spent")
    _common_run_args(run)
    run.add_argument("--budget", type=_budget, default="60s", help="seconds (120, 10m, 2h) or cases (500cases)")
    run.add_argument("--backend", choices=BACKENDS, default="interpret", help="where to run (default: interpret)")
    run.add_argument("--poison", choices=POISONS, default="nan", help="what lies past the end of every input")
    run.add_argument("--out", type=Path, default=Path("fuzzpass-out"), help="findings, corpus, logs, summary.json")
    run.add_argument("--mutant", choices=MUTANT_NAMES, help="fuzz a deliberately broken pass")
    run.add_argument("--timeout", type=_positive, default=60.0, help="seconds one case may take (default 60)")
    run.add_argument("--no-swarm", action="store_true", help="every worker draws every op kind")
    run.add_argument("--stop-at-first", action="store_true", help="stop at the first finding")
    run.add_argument("--fail-on", choices=("any", "new"), default="any", help="exit 1 on any finding, or only new ones")
    run.add_argument("--replay", type=Path, metavar="DIR", help="re-check every finding saved under DIR, then exit")
    run.add_argument("--tpu", type=_generations, default=None, metavar="GENS", help="generations for tpu-aot")
    run.add_argument("--json", action="store_true", help="print summary.json on stdout at the end")
    run.add_argument("--quiet", action="store_true", help="no progress display")

    mutants = sub.add_parser("mutants", help="run each deliberately broken pass until it is killed")
    _common_run_args(mutants)
    mutants.add_argument("--budget", type=_budget, default="60s", help="per mutant: seconds or cases")
    mutants.add_argument("--only", type=_mutant_list, metavar="NAMES", help="comma-separated mutants (default all)")
    mutants.add_argument("--out", type=Path, help="keep each mutant's run under DIR/<mutant> (default: a temp dir)")
    mutants.add_argument("--json", action="store_true", help="print a JSON list: mutant, killed, seconds, cases")
    return top


def _common_run_args(p: argparse.ArgumentParser) -> None:
    from generators.policies import POLICIES

    p.add_argument("--seed", type=int, default=None, help="the run's seed (default: random, printed and stored)")
    p.add_argument("--jobs", type=_positive_int, default=os.cpu_count() or 1, help="worker processes (default: cores)")
    p.add_argument("--policy", choices=tuple(POLICIES), default="mixed", help="what the generators draw")


def _budget(text: str) -> Any:
    from fuzzpass.run import Budget, BudgetError

    try:
        return Budget.parse(text)
    except BudgetError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _mutant_list(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MUTANT_NAMES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown mutant {unknown or text!r} (known: {', '.join(MUTANT_NAMES)})")
    return names


def cmd_check(args: argparse.Namespace) -> int:
    from fuzzpass.case import CaseError, load_case

    try:
        case = load_case(args.case)
    except CaseError as e:
        if args.json:
            print(json.dumps({"verdict": "invalid", "error": str(e)}))
        print(f"fuzzpass: {args.case}: {e}", file=sys.stderr)
        return 2
    from fuzzpass.backends import prepare_environment

    prepare_environment()
    from fuzzpass.check import BackendUnavailable, check_case
    from fuzzpass.report import render_check

    try:
        from fuzzpass.mutants import MUTANTS

        mutant = MUTANTS[args.mutant] if args.mutant else None
        result = check_case(case, backend=args.backend, poison=args.poison, generations=args.tpu, mutant=mutant)
    except BackendUnavailable as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        payload = result.to_json()
        if args.show_source:
            payload["sources"] = {name: v.source.text for name, v in result.variants.items()}
        print(json.dumps(payload, indent=2))
    else:
        print(render_check(result, show_source=args.show_source))
    return result.verdict.exit_code


def _seed(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    print(f"fuzzpass {args.command}: seed {seed} (rerun with --seed {seed})", file=sys.stderr)
    return seed


def cmd_run(args: argparse.Namespace) -> int:
    from fuzzpass.backends import prepare_environment
    from fuzzpass.engine import Config
    from fuzzpass.run import Options, replay, run

    if reason := _backend_unavailable(args.backend):
        print(f"fuzzpass: error: --backend {args.backend}: {reason}", file=sys.stderr)
        return 2
    if args.replay is not None and not (args.replay / "findings").is_dir():
        print(f"fuzzpass: error: --replay: {args.replay} has no findings/ directory", file=sys.stderr)
        return 2
    prepare_environment()
    seed = _seed(args)
    config = Config(args.policy, args.backend, args.poison, args.mutant, args.tpu, seed)
    if args.replay is not None:
        replayed = replay(args.replay, config)
        failing = [r for r in replayed if r.now != "pass"]
        print(f"{len(replayed)} findings replayed, {len(failing)} still failing", file=sys.stderr)
        return 1 if failing else 0
    options = Options(
        config,
        args.budget,
        args.jobs,
        args.out,
        args.timeout,
        not args.no_swarm,
        args.stop_at_first,
        progress=not args.quiet,
    )
    try:
        result = run(options)
    except RuntimeError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    failing = [f for f in result.findings if f.new or args.fail_on == "any"]
    return 1 if failing else 0


def cmd_mutants(args: argparse.Namespace) -> int:
    import tempfile

    from fuzzpass.backends import prepare_environment
    from fuzzpass.engine import Config
    from fuzzpass.mutants import MUTANTS
    from fuzzpass.run import Options, run

    prepare_environment()
    seed = _seed(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="fuzzpass-mutants-") as tmp:
        root = args.out or Path(tmp)
        for name in args.only or tuple(MUTANTS):
            config = Config(args.policy, "interpret", "nan", name, None, seed)
            options = Options(config, args.budget, args.jobs, root / name, stop_at_kill=True, progress=False)
            result = run(options)
            kill = next((f for f in result.findings if f.signature.blames_pass), None)
            row = {
                "mutant": name,
                "killed": kill is not None,
                "seconds": round(kill.first_at if kill else result.seconds, 2),
                "cases": result.cases,
                "finding": str(kill.signature) if kill else None,
            }
            rows.append(row)
            print(
                f"{name:<18} {'killed' if kill else 'SURVIVED':<9} {row['seconds']:>7.1f} s {result.cases:>6} cases  "
                f"{row['finding'] or ''}",
                file=sys.stderr,
                flush=True,
            )
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'mutant':<18}{'killed':>8}{'seconds':>10}{'cases':>8}")
        for row in rows:
            print(f"{row['mutant']:<18}{'yes' if row['killed'] else 'NO':>8}{row['seconds']:>10.1f}{row['cases']:>8}")
    return 0 if all(row["killed"] for row in rows) else 1


def _backend_unavailable(backend: str) -> str | None:
    if backend == "tpu-aot":
        from fuzzpass.backends import tpu_aot

        return tpu_aot.unavailable()
    if backend == "tpu":
        from fuzzpass.backends import tpu

        return tpu.unavailable()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return {"check": cmd_check, "run": cmd_run, "mutants": cmd_mutants}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
