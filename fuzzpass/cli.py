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
from typing import TYPE_CHECKING, Any

from fuzzpass.backends import BACKENDS, TPU_AOT, backend, unavailable
from fuzzpass.backends import DEFAULT as DEFAULT_BACKEND
from fuzzpass.core.data import POISONS

if TYPE_CHECKING:
    from fuzzpass.repro.finding import Opened

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
"""``fuzzpass.judge.mutants.MUTANTS``' names, listed here so that ``--help`` does not import torch
(a test keeps the two in step)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for a bad case file
        print(f"fuzzpass: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _generations(text: str) -> tuple[str, ...]:
    from fuzzpass.backends.tpu_aot import TOPOLOGIES

    if text.strip() == "none":
        return ()
    gens = tuple(g.strip() for g in text.split(",") if g.strip())
    unknown = [g for g in gens if g not in TOPOLOGIES]
    if unknown or not gens:
        raise argparse.ArgumentTypeError(f"unknown TPU generation {unknown or text!r} (known: {', '.join(TOPOLOGIES)})")
    return gens


def parser() -> argparse.ArgumentParser:

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
        "--tpu",
        type=_generations,
        default=None,
        metavar="GENS",
        help="TPU generations for tpu-aot and Helion's kernels (default v5e,v6e; none: no TPU compiles)",
    )
    check.add_argument("--show-source", action="store_true", help="print both kernels' Pallas source")
    check.add_argument(
        "--mutant", choices=MUTANT_NAMES, help="check a deliberately broken pass instead of the real one"
    )
    _candidate_args(check)
    _helion_args(check)

    run = sub.add_parser("run", help="fuzz: draw cases and check them until the budget is spent")
    _common_run_args(run)
    run.add_argument("--budget", type=_budget, default="60s", help="seconds (120, 10m, 2h) or cases (500cases)")
    run.add_argument("--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="where to run (default: interpret)")
    run.add_argument("--poison", choices=POISONS, default="nan", help="what lies past the end of every input")
    run.add_argument("--out", type=Path, default=Path("fuzzpass-out"), help="findings, corpus, logs, summary.json")
    run.add_argument("--mutant", choices=MUTANT_NAMES, help="fuzz a deliberately broken pass")
    _candidate_args(run)
    run.add_argument(
        "--timeout", type=_positive, default=None, help="seconds one case may take (default 60; 300 with --check-gate)"
    )
    run.add_argument("--no-swarm", action="store_true", help="every worker draws every op kind")
    run.add_argument("--stop-at-first", action="store_true", help="stop at the first finding")
    run.add_argument("--fail-on", choices=("any", "new"), default="any", help="exit 1 on any finding, or only new ones")
    run.add_argument("--replay", type=Path, metavar="DIR", help="re-check every finding saved under DIR, then exit")
    run.add_argument(
        "--tpu",
        type=_generations,
        default=None,
        metavar="GENS",
        help="generations for tpu-aot and Helion's kernels (none: no TPU compiles), and judged by --check-gate",
    )
    run.add_argument(
        "--check-gate",
        action="store_true",
        help="audit the gate on static TPU schedules (all generations recorded, --tpu judged; default all)",
    )
    run.add_argument(
        "--minimize-seconds",
        type=_positive,
        default=None,
        help="per new finding: shrink, minimize, export (default 60; 240 with --backend helion)",
    )
    run.add_argument("--no-minimize", action="store_true", help="keep findings as found (no shrinking, no repro)")
    run.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="workers as Ray actors: on the Ray cluster at ADDRESS, or on a local one started for the run",
    )
    run.add_argument(
        "--compile-cache",
        type=Path,
        metavar="DIR",
        help="compiled kernels (interpret), deviceless compiles' outcomes (tpu-aot, --check-gate, helion) "
        "or JAX's persistent compilation cache (tpu), shared by the workers of a host, kept between runs "
        "(default: OUT/cache)",
    )
    run.add_argument(
        "--corpus",
        metavar="DIR|URL",
        help="where the corpus lasts: a directory, or a Redis URL (redis://HOST:PORT/DB) that runs on "
        "several hosts share (default: OUT/corpus)",
    )
    run.add_argument("--json", action="store_true", help="print summary.json on stdout at the end")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--profile", action="store_true", help="print where the workers' time went, stage by stage")
    run.add_argument(
        "--helion-patch",
        type=Path,
        default=None,
        metavar="FILE",
        help="--backend helion against Helion with this diff applied (fuzzpass propose writes one)",
    )
    _helion_args(run)

    bench = sub.add_parser("bench", help="the dense-KV benchmark table: measured TFLOP/s quoted, static speedups")
    bench.add_argument("--tpu", type=_generations, default=None, metavar="GENS", help="generations (default all)")
    bench.add_argument("--mutant", choices=MUTANT_NAMES, help="the static speedups of a broken pass instead")

    gate_report = sub.add_parser("gate-report", help="summarize a --check-gate run, per generation and pattern")
    gate_report.add_argument("out", type=Path, help="the run's --out directory")

    report = sub.add_parser("report", help="the morning report: one self-contained HTML page of a run")
    report.add_argument("out", type=Path, help="the run's --out directory")
    report.add_argument("-o", "--output", type=Path, default=None, help="where to write it (default: OUT/report.html)")

    minimize = sub.add_parser("minimize", help="shrink a failing case while it fails the same way")
    minimize.add_argument("case", help="a failing case file (a finding's case.json, or any case)")
    minimize.add_argument("-o", "--output", type=Path, required=True, help="where to write the smallest case")
    _finding_args(minimize)
    minimize.add_argument("--seconds", type=_positive, default=60.0, help="time limit (default 60)")

    export = sub.add_parser("export", help="write a standalone repro script, or a pytest regression test")
    export.add_argument("case", help="a failing case file")
    target = export.add_mutually_exclusive_group(required=True)
    target.add_argument("-o", "--output", type=Path, help="the repro script to write (needs only jax and numpy)")
    target.add_argument("--pytest", type=Path, metavar="DIR", help="write DIR/test_<case>.py instead")
    _finding_args(export)

    mutants = sub.add_parser("mutants", help="run each deliberately broken pass until it is killed")
    _common_run_args(mutants)
    mutants.set_defaults(policy=None)  # each mutant's own: the structures that reach what it breaks
    mutants.add_argument("--budget", type=_budget, default="60s", help="per mutant: seconds or cases")
    mutants.add_argument("--only", type=_mutant_list, metavar="NAMES", help="comma-separated mutants (default all)")
    mutants.add_argument(
        "--pass",
        dest="candidate",
        metavar="FILE.py:NAME",
        help="a mutant written elsewhere (a MaskDeferral subclass) to kill instead of the shipped ones",
    )
    mutants.add_argument("--out", type=Path, help="keep each mutant's run under DIR/<mutant> (default: a temp dir)")
    mutants.add_argument("--json", action="store_true", help="print a JSON list: mutant, killed, seconds, cases")
    mutants.add_argument(
        "--minimize",
        type=_positive,
        metavar="SECONDS",
        help="also minimize each first finding within SECONDS and report its size before and after",
    )
    propose = sub.add_parser("propose", help="write a candidate pass as a patch against the installed Helion")
    propose.add_argument("candidate", metavar="FILE.py:NAME", help="a candidate pass with helion_edits")
    propose.add_argument("--out", type=Path, default=Path("node_masking.patch"), help="the diff to write")
    bisect = sub.add_parser("bisect", help="the Helion release or commit where a Helion finding appeared or went")
    bisect.add_argument("case", type=Path, help="a Helion finding's case.json (its verdict.json beside it)")
    bisect.add_argument(
        "--releases",
        metavar="A..B|A,B,..",
        help="releases to search, oldest first (default: the two a helion-regression names)",
    )
    bisect.add_argument("--helion-repo", type=Path, metavar="PATH", help="search a Helion checkout's commits instead")
    bisect.add_argument("--good", metavar="REV", help="with --helion-repo: the oldest commit of the range")
    bisect.add_argument("--bad", metavar="REV", default="HEAD", help="with --helion-repo: the newest (default HEAD)")
    bisect.add_argument("--tpu", type=_generations, default=(), metavar="GENS", help="TPU compiles (default: none)")
    bisect.add_argument("--out", type=Path, default=None, help="bisect.log and bisect.json (default: beside CASE)")
    exhaust = sub.add_parser("exhaust", help="check every structure the generators can draw up to K graph nodes")
    exhaust.add_argument(
        "--max-nodes", type=_positive_int, required=True, metavar="K", help="graph nodes, loads and stores included"
    )
    exhaust.add_argument("--seed", type=int, default=None, help="seeds the repros' data (default: random, printed)")
    exhaust.add_argument("--jobs", type=_positive_int, default=None, help="worker processes (default: cores)")
    exhaust.add_argument("--budget", type=_budget, default=None, help="stop early: seconds or cases (default: none)")
    exhaust.add_argument(
        "--backend", choices=BACKENDS, default=DEFAULT_BACKEND, help="where to run (default: interpret)"
    )
    exhaust.add_argument("--poison", choices=POISONS, default="nan", help="what lies past the end of every input")
    exhaust.add_argument("--out", type=Path, default=Path("fuzzpass-exhaust"), help="findings, logs, summary.json")
    exhaust.add_argument("--mutant", choices=MUTANT_NAMES, help="check a deliberately broken pass")
    _candidate_args(exhaust)
    exhaust.add_argument(
        "--policy",
        choices=("exhaust", "relayouts"),
        default="exhaust",
        help="what the enumeration ranges over (relayouts: a squeeze, unsqueeze, x[:, None] or expand on every path)",
    )
    exhaust.add_argument(
        "--differing",
        action="store_true",
        help="with --pass or --mutant: only structures where that pass decides or compiles otherwise than the "
        "reference (the others are the reference's, which exhaust without --pass checks)",
    )
    exhaust.add_argument("--stop-at-first", action="store_true", help="stop at the first finding")
    exhaust.add_argument("--timeout", type=_positive, default=None, help="seconds one case may take (default 60)")
    exhaust.add_argument("--no-minimize", action="store_true", help="keep findings as found (no repro)")
    exhaust.add_argument("--json", action="store_true", help="print summary.json on stdout at the end")
    exhaust.add_argument("--quiet", action="store_true", help="no progress display")
    corpus = sub.add_parser("corpus", help="check the pass on real Helion kernels: files, directories, test files")
    corpus.add_argument("paths", nargs="+", metavar="PATH", help="a kernel file, a directory, a Helion test file")
    corpus.add_argument("--out", type=Path, default=Path("fuzzpass-corpus"), help="kernels.jsonl, cases, summary")
    corpus.add_argument("--jobs", type=_positive_int, default=1, help="worker processes (default 1)")
    corpus.add_argument(
        "--tpu", type=_generations, default=("v5e", "v6e", "tpu7x"), metavar="GENS", help="generations (none: skip)"
    )
    corpus.add_argument("--no-gate", action="store_true", help="no gate audit where the pass fired")
    corpus.add_argument("--timeout", type=_positive, default=300.0, help="seconds a worker may stay silent")
    corpus.add_argument("--corpus", default=None, help="where fired kernels' cases go as seeds (default OUT/corpus)")
    corpus.add_argument("--only", default="", metavar="NAMES", help="judge only these kernels (comma-separated)")
    corpus.add_argument("--seed", type=int, default=0, help="seeds torch, numpy and random before every entry")
    corpus.add_argument("--json", action="store_true", help="print summary.json on stdout at the end")
    return top


def _candidate_args(p: argparse.ArgumentParser) -> None:
    from reference.gates import DEFAULT as DEFAULT_GATE
    from reference.gates import GATES

    p.add_argument(
        "--pass",
        dest="candidate",
        metavar="FILE.py:NAME",
        help="the pass to check in the deferred variant: a reference.defer.MaskDeferral subclass in FILE.py",
    )
    p.add_argument(
        "--gate",
        choices=tuple(GATES),
        default=DEFAULT_GATE,
        help="the reference pass's profitability gate (default positional: Helion's; generation: "
        "layout told the target generation, the first of --tpu)",
    )


def _common_run_args(p: argparse.ArgumentParser) -> None:
    from generators.policies import POLICIES

    p.add_argument("--seed", type=int, default=None, help="the run's seed (default: random, printed and stored)")
    p.add_argument(
        "--jobs", type=_positive_int, default=None, help="worker processes (default: cores; with --backend tpu: chips)"
    )
    p.add_argument(
        "--policy",
        choices=tuple(POLICIES),
        default=None,
        help="what the generators draw (default: mixed; with --backend helion: helion, cases Helion can state)",
    )


def _helion_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--helion",
        metavar="DIR|VERSION",
        help="--backend helion against this Helion: a directory holding a helion package (a checkout's root), "
        "a release fuzzpass installs into its cache, or installed (the default)",
    )
    p.add_argument(
        "--helion-baseline",
        metavar="DIR|VERSION",
        help="check every expressible case with this Helion too: what it gets right and --helion wrong is a "
        "helion-regression finding, what it got wrong and --helion right is counted as fixed",
    )


def _choose_helions(args: argparse.Namespace) -> str | None:
    """``--helion`` and ``--helion-baseline``: the Helion this process's workers import,
    chosen before anything imports Helion, and the baseline into ``args.baseline``; why not,
    or None."""
    from fuzzpass.backends import helions

    args.baseline = None
    if (args.helion or args.helion_baseline) and not backend(args.backend).helion:
        return f"--helion{'-baseline' if args.helion_baseline else ''}: only with --backend helion"
    try:
        if args.helion:
            helions.resolve(args.helion).select()
        if args.helion_baseline:
            args.baseline = helions.resolve(args.helion_baseline, "--helion-baseline")
    except helions.HelionError as e:
        return str(e)
    if args.baseline is not None:
        said = f"Helion {helions.label()}, baseline {args.baseline.label}"
        print(f"fuzzpass {args.command}: {said}", file=sys.stderr)
    return None


def _finding_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, help="default: the finding's, else interpret")
    p.add_argument("--poison", choices=POISONS, help="default: the finding's (its verdict.json), else nan")
    p.add_argument("--mutant", choices=MUTANT_NAMES, help="default: the finding's mutant, if any")
    p.add_argument(
        "--pass", dest="candidate", metavar="FILE.py:NAME", help="default: the finding's candidate pass, if any"
    )
    p.add_argument("--helion", metavar="DIR|VERSION", help="with --backend helion: default the Helion it was found on")


def _budget(text: str) -> Any:
    from fuzzpass.fuzz.options import Budget, BudgetError

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


def _candidate(args: argparse.Namespace) -> Any:
    """The ``--pass`` candidate (``judge.candidate.Candidate``), None without one; exits 2
    with one line when the file or class cannot be used, or ``--mutant`` is given too."""
    if getattr(args, "candidate", None) is None:
        return None
    if getattr(args, "mutant", None):
        print("fuzzpass: error: --pass and --mutant: give one pass to check", file=sys.stderr)
        raise SystemExit(2)
    from fuzzpass.judge.candidate import CandidateError, parse

    try:
        return parse(args.candidate)
    except CandidateError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_check(args: argparse.Namespace) -> int:
    from fuzzpass.core.case import CaseError, load_case

    try:
        case = load_case(args.case)
    except CaseError as e:
        if args.json:
            print(json.dumps({"verdict": "invalid", "error": str(e)}))
        print(f"fuzzpass: {args.case}: {e}", file=sys.stderr)
        return 2
    candidate = _candidate(args)
    if reason := _choose_helions(args):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    from fuzzpass.backends.environment import start_jax

    start_jax(args.backend)
    from fuzzpass.judge.candidate import under_test
    from fuzzpass.judge.check import check_case
    from fuzzpass.judge.render import render_baseline, render_check
    from fuzzpass.judge.result import BackendUnavailable
    from fuzzpass.judge.verdict import Kind

    try:
        mutant = under_test(args.mutant, candidate)
        result = check_case(
            case, backend=args.backend, poison=args.poison, generations=args.tpu, mutant=mutant, gate_rule=args.gate
        )
    except BackendUnavailable as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    payload = result.to_json()
    if args.baseline is not None and payload.get("helion"):
        from fuzzpass.judge.checked import Config, against_baseline

        config = Config(backend="helion", poison=args.poison, generations=args.tpu, baseline=args.baseline)
        against_baseline(case, config, payload)
    if args.json:
        if args.show_source:
            payload["sources"] = {name: v.source.text for name, v in result.variants.items()}
        print(json.dumps(payload, indent=2))
    else:
        print(render_check(result, show_source=args.show_source))
        if "helion_baseline" in payload:
            print(render_baseline(payload))
    return Kind(payload["verdict"]).exit_code


def _seed(args: argparse.Namespace) -> int:
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "big")
    print(f"fuzzpass {args.command}: seed {seed} (rerun with --seed {seed})", file=sys.stderr)
    return seed


def cmd_run(args: argparse.Namespace) -> int:
    from fuzzpass.backends.environment import prepare_environment, start_jax
    from fuzzpass.fuzz.corpus import CorpusError
    from fuzzpass.fuzz.options import (
        GATE_TIMEOUT,
        TIMEOUT,
        Options,
        corpus_seeds,
        corpus_unavailable,
        default_jobs,
        default_policy,
        workers_unavailable,
    )
    from fuzzpass.fuzz.run import replay, run
    from fuzzpass.judge.checked import Config
    from fuzzpass.judge.gate import GENERATIONS

    if args.check_gate and (reason := unavailable(TPU_AOT)):
        print(f"fuzzpass: error: --check-gate: {reason}", file=sys.stderr)
        return 2
    if reason := _choose_helions(args) or (args.helion_patch is not None and _patch_helion(args)):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    if reason := workers_unavailable(args.backend, args.jobs, args.ray):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    if args.corpus is not None and (reason := corpus_unavailable(args.corpus)):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    if args.replay is not None and not (args.replay / "findings").is_dir():
        print(f"fuzzpass: error: --replay: {args.replay} has no findings/ directory", file=sys.stderr)
        return 2
    try:
        seeds = corpus_seeds(args.corpus or str(args.out / "corpus"))
    except CorpusError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    if seeds:
        print(f"fuzzpass run: {len(seeds)} seed structures from real kernels in the corpus", file=sys.stderr)
    candidate = _candidate(args)
    prepare_environment()
    seed = _seed(args)
    gate = (args.tpu or GENERATIONS) if args.check_gate else None
    config = Config(
        policy=args.policy or default_policy(args.backend),
        backend=args.backend,
        poison=args.poison,
        mutant=args.mutant,
        generations=args.tpu,
        seed=seed,
        gate=gate,
        candidate=candidate,
        gate_rule=args.gate,
        seeds=seeds,
        baseline=args.baseline,
    )
    if args.replay is not None:
        start_jax(config.backend)  # the findings are checked in this process
        replayed = replay(args.replay, config)
        failing = [r for r in replayed if r.still_fails]
        print(f"{len(replayed)} findings replayed, {len(failing)} still failing", file=sys.stderr)
        return 1 if failing else 0
    options = Options(
        config,
        args.budget,
        args.jobs or default_jobs(args.backend, args.ray),
        args.out,
        args.timeout or (GATE_TIMEOUT if args.check_gate else TIMEOUT),
        not args.no_swarm,
        args.stop_at_first,
        progress=not args.quiet,
        minimize_seconds=0.0 if args.no_minimize else args.minimize_seconds or backend(args.backend).minimize_seconds,
        ray=args.ray,
        compile_cache=args.compile_cache or args.out / "cache",
        corpus=args.corpus,
    )
    try:
        result = run(options)
    except RuntimeError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    if args.profile:
        from fuzzpass.core.profile import table

        print("\n".join(table(result.stages, result.cases)), file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    failing = [f for f in result.findings if f.new or args.fail_on == "any"]
    return 1 if failing else 0


def cmd_exhaust(args: argparse.Namespace) -> int:
    from fuzzpass.backends.environment import prepare_environment
    from fuzzpass.fuzz.options import TIMEOUT, Budget, Options, workers_unavailable
    from fuzzpass.fuzz.run import run
    from fuzzpass.judge.checked import Config

    if reason := workers_unavailable(args.backend, args.jobs, None):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    candidate = _candidate(args)
    if args.differing and not (candidate or args.mutant):
        print("fuzzpass: error: exhaust --differing: give --pass or --mutant (differing from what?)", file=sys.stderr)
        return 2
    prepare_environment()
    seed = _seed(args)
    config = Config(
        policy="exhaust", backend=args.backend, poison=args.poison, mutant=args.mutant, seed=seed,
        candidate=candidate, gate_rule=args.gate,
    )  # fmt: skip
    options = Options(
        config,
        args.budget or Budget(),
        args.jobs or os.cpu_count() or 1,
        args.out,
        args.timeout or TIMEOUT,
        use_swarm=False,
        stop_at_first=args.stop_at_first,
        progress=not args.quiet,
        minimize_seconds=0.0 if args.no_minimize else backend(args.backend).minimize_seconds,
        compile_cache=args.out / "cache",
        exhaust=args.max_nodes,
        exhaust_policy=args.policy,
        differing=args.differing,
    )
    result = run(options)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    return 1 if result.findings else 0


def cmd_corpus(args: argparse.Namespace) -> int:
    from fuzzpass.backends import helion, helion_tpu
    from fuzzpass.core.supervisor import WorkersCannotStart
    from fuzzpass.fuzz.options import corpus_unavailable
    from fuzzpass.kernels import calls
    from fuzzpass.kernels.campaign import CorpusOptions, run_corpus
    from fuzzpass.kernels.collect import Unreadable
    from fuzzpass.kernels.results import closing, table, write_results

    if reason := helion.unavailable():
        print(f"fuzzpass: error: corpus: {reason}", file=sys.stderr)
        return 2
    if args.tpu and (reason := helion_tpu.unavailable()):
        print(f"fuzzpass: error: --tpu: {reason} (--tpu none skips the compiles)", file=sys.stderr)
        return 2
    if args.corpus is not None and (reason := corpus_unavailable(args.corpus)):
        print(f"fuzzpass: error: {reason}", file=sys.stderr)
        return 2
    options = CorpusOptions(
        tuple(args.paths),
        args.out,
        args.jobs,
        args.tpu,
        None if args.no_gate or not args.tpu else args.tpu,
        args.timeout,
        args.corpus,
        tuple(k for k in args.only.split(",") if k),
        args.seed,
    )
    try:
        corpus = run_corpus(options, _to_stderr)
    except (Unreadable, calls.Unreadable, WorkersCannotStart) as e:
        print(f"fuzzpass: error: corpus: {e}", file=sys.stderr)
        return 2
    events = corpus["events"]
    summary = write_results(options, corpus)
    print("\n".join(["", *table(events, options.generations, options.gate), "", *closing(summary)]), file=sys.stderr)
    print(f"summary: {args.out / 'summary.json'}; report: {args.out / 'report.html'}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2))
    return 1 if summary["corpus"]["findings"] else 0


def cmd_mutants(args: argparse.Namespace) -> int:
    from fuzzpass.backends.environment import prepare_environment
    from fuzzpass.fuzz.campaign import campaign, table
    from fuzzpass.judge.mutants import MUTANTS

    candidate = _candidate(args)
    prepare_environment()
    seed = _seed(args)
    rows = campaign(
        [candidate] if candidate else args.only or tuple(MUTANTS),
        policy=args.policy,
        seed=seed,
        budget=args.budget,
        jobs=args.jobs or os.cpu_count() or 1,
        out=args.out,
        minimize_seconds=args.minimize,
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(json.dumps(rows, indent=2) if args.json else "\n".join(table(rows, minimized=bool(args.minimize))))
    return 0 if all(row["killed"] for row in rows) else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from fuzzpass.backends import schedule
    from fuzzpass.backends.environment import start_jax

    if reason := unavailable(TPU_AOT):
        print(f"fuzzpass: error: bench: {reason}", file=sys.stderr)
        return 2
    schedule.enable()
    start_jax()
    from fuzzpass.judge.gate import GENERATIONS
    from fuzzpass.perf import bench

    lines = bench.report(args.tpu or GENERATIONS, args.mutant, lambda line: print(line, file=sys.stderr, flush=True))
    print("\n".join(lines))
    return 0


def cmd_gate_report(args: argparse.Namespace) -> int:
    from fuzzpass.perf.gate_report import load, report

    path = args.out / "gate.jsonl"
    if not path.is_file():
        print(f"fuzzpass: error: {path} does not exist (run with --check-gate)", file=sys.stderr)
        return 2
    print("\n".join(report(load(path))))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from fuzzpass.report.write import write_report

    if not args.out.is_dir():
        print(f"fuzzpass: error: {args.out} is not a run's --out directory", file=sys.stderr)
        return 2
    print(write_report(args.out, args.output))
    return 0


def _open_finding(args: argparse.Namespace) -> Opened | None:
    """The case, its config and kind (``fuzzpass.repro.finding.Opened``), with libtpu's
    environment set; None after printing why the file cannot be read."""
    from fuzzpass.repro.finding import FindingError, open_finding

    candidate = _candidate(args)
    try:
        opened = open_finding(args.case, args.backend, args.poison, args.mutant, candidate)
    except FindingError as e:
        print(f"fuzzpass: {e}", file=sys.stderr)
        return None
    from fuzzpass.backends import helions, schedule
    from fuzzpass.backends.environment import start_jax

    try:
        if args.helion:
            helions.resolve(args.helion).select()
        elif opened.helion is not None and not os.environ.get(helions.ENV):  # the Helion it was found on
            opened.helion.select()
    except helions.HelionError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return None
    if opened.config.gate:
        schedule.enable()  # before JAX starts libtpu
    start_jax(opened.config.backend)
    return opened


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_minimize(args: argparse.Namespace) -> int:
    if (opened := _open_finding(args)) is None:
        return 2
    case, config, kind, _ = opened
    from fuzzpass.repro.minimize import minimize, size

    print(f"minimizing {args.case} (backend {config.backend}, poison {config.poison}"
          f"{', mutant ' + config.mutant if config.mutant else ''}"
          f"{', pass ' + config.candidate.label if config.candidate else ''})", file=sys.stderr)  # fmt: skip
    try:
        result = minimize(case, config, args.seconds, log=_to_stderr, kind=kind)
    except ValueError as e:
        print(f"fuzzpass: {args.case}: {e}", file=sys.stderr)
        return 2
    before, after = size(result.original.to_json()), size(result.case.to_json())
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(result.case.dumps() + "\n")
    print(f"{before[0]} nodes, rank {before[1]} -> {after[0]} nodes, rank {after[1]} in {result.seconds:.1f} s "
          f"({result.checks} checks): {args.output}", file=sys.stderr)  # fmt: skip
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if (opened := _open_finding(args)) is None:
        return 2
    case, config, kind, _ = opened
    from fuzzpass.repro import export

    command = "fuzzpass " + " ".join(sys.argv[1:])
    if args.pytest is not None:
        path = export.write_pytest(case, config, args.pytest)
    else:
        try:
            path = export.write_repro(case, config, args.output, command, kind)
        except ValueError as e:
            print(f"fuzzpass: {args.case}: {e}", file=sys.stderr)
            return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0


def _patch_helion(args: argparse.Namespace) -> str | None:
    """``--helion-patch``: Helion with the diff applied, copied under ``OUT`` before anything
    imports Helion (every worker imports that copy); why not, or None."""
    from fuzzpass.backends import helion_patch, helions

    if not backend(args.backend).helion:
        return "--helion-patch: only with --backend helion"
    try:
        source = helions.resolve(args.helion) if args.helion else None
        digest = helion_patch.patched_copy(args.helion_patch, args.out.resolve() / "helion-patched", source)
    except helion_patch.PatchError as e:
        return str(e)
    print(f"fuzzpass run: Helion with {args.helion_patch} applied (sha256 {digest[:12]})", file=sys.stderr)
    return None


def cmd_propose(args: argparse.Namespace) -> int:
    from fuzzpass.backends import helion_patch

    candidate = _candidate(args)  # exits 2 with one line if the file or class cannot be used
    try:
        diff = helion_patch.proposal(candidate.deferral(), args.candidate)
    except helion_patch.PatchError as e:
        print(f"fuzzpass: error: propose: {e}", file=sys.stderr)
        return 2
    args.out.write_text(diff)
    root = helion_patch.installed_root()
    print(f"wrote {args.out}: {args.candidate} as a diff of {helion_patch.TARGET} (Helion in {root})")
    print(f"apply it:  patch -p1 -d {root} < {args.out}")
    print(f"check it:  fuzzpass run --backend helion --pass {args.candidate} --helion-patch {args.out}")
    return 0


def cmd_bisect(args: argparse.Namespace) -> int:
    from fuzzpass.repro import bisect

    try:
        finding = bisect.recorded(args.case)
        steps, helion_of = bisect.plan(finding, args.releases, args.helion_repo, args.good, args.bad)
    except bisect.BisectError as e:
        print(f"fuzzpass: error: {e}", file=sys.stderr)
        return 2
    gens = ",".join(args.tpu) or "none"
    out = args.out or args.case.parent / "bisect"
    print(f"fuzzpass bisect: {len(steps)} steps from {steps[0].name} to {steps[-1].name}", file=sys.stderr)
    result = bisect.bisect(finding, args.case, steps, helion_of, out, ["--tpu", gens])
    print(result.answer)
    print(f"log: {out / 'bisect.log'}", file=sys.stderr)
    return 0 if result.boundary else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    commands = {
        "check": cmd_check,
        "run": cmd_run,
        "mutants": cmd_mutants,
        "minimize": cmd_minimize,
        "export": cmd_export,
        "bench": cmd_bench,
        "gate-report": cmd_gate_report,
        "report": cmd_report,
        "exhaust": cmd_exhaust,
        "corpus": cmd_corpus,
        "propose": cmd_propose,
        "bisect": cmd_bisect,
    }
    return commands[args.command](args)


def entry() -> None:
    """The installed ``fuzzpass`` and ``python -m fuzzpass``: :func:`main`, then the process
    ends by :func:`~fuzzpass.backends.environment.exit_process` (tests call :func:`main`)."""
    from fuzzpass.backends.environment import exit_process

    exit_process(main())


if __name__ == "__main__":
    entry()
