"""The commands that fuzz with ``fuzzpass.fuzz.run``'s workers: ``run`` (draws until the budget
is spent), ``exhaust`` (every structure up to K graph nodes) and ``mutants`` (each broken pass
until a finding blames it). Everything that can refuse the command line is checked before a
worker starts or JAX is imported."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from fuzzpass.backends import DEFAULT as DEFAULT_BACKEND
from fuzzpass.backends import TPU_AOT, backend, unavailable
from fuzzpass.commands import flags
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.passes import candidate, choose_helions, patch_helion
from fuzzpass.commands.say import say

if TYPE_CHECKING:
    from fuzzpass.backends.helions import Helion
    from fuzzpass.fuzz.options import Options
    from fuzzpass.judge.checked import Config


def run_options(p: argparse.ArgumentParser) -> None:
    flags.add(p, "--seed", "--jobs", "--policy", "--budget", "--backend", "--poison", "--out", "--mutant")
    flags.add(p, "--pass", "--gate", "--timeout")
    p.add_argument("--no-swarm", action="store_true", help="every worker draws every op kind")
    flags.add(p, "--stop-at-first")
    p.add_argument("--fail-on", choices=("any", "new"), default="any", help="exit 1 on any finding, or only new ones")
    p.add_argument("--replay", type=Path, metavar="DIR", help="re-check every finding saved under DIR, then exit")
    flags.add(p, "--tpu")
    p.add_argument(
        "--check-gate",
        action="store_true",
        help="audit the gate on static TPU schedules (every generation recorded, the --tpu ones judged)",
    )
    p.add_argument(
        "--minimize-seconds",
        type=flags.positive,
        default=None,
        help="per new finding: shrink, minimize, export (default 60; 240 with --backend helion)",
    )
    flags.add(p, "--no-minimize", "--ray")
    p.add_argument(
        "--compile-cache",
        type=Path,
        metavar="DIR",
        help="compiled kernels (interpret), deviceless compiles' outcomes (tpu-aot, --check-gate, helion) "
        "or JAX's persistent compilation cache (tpu), shared by the workers of a host, kept between runs "
        "(default: OUT/cache)",
    )
    flags.add(p, "--examples", "--json", "--quiet")
    p.add_argument("--profile", action="store_true", help="print where the workers' time went, stage by stage")
    p.add_argument(
        "--helion-patch",
        type=Path,
        default=None,
        metavar="FILE",
        help="--backend helion against Helion with this diff applied (fuzzpass propose writes one)",
    )
    flags.add(p, "--helion", "--helion-baseline")


def run_refusals(args: argparse.Namespace, backend_name: str, out: Path) -> Helion | None:
    """Every refusal of ``fuzzpass run``'s command line, before a worker starts; the
    ``--helion-baseline`` chosen (None without one)."""
    from fuzzpass.fuzz.options import examples_unavailable, workers_unavailable

    if args.check_gate and (reason := unavailable(TPU_AOT)):
        raise UsageError(f"--check-gate: {reason}")
    if args.check_gate and not args.tpu:
        raise UsageError("--check-gate: judges the --tpu generations; --tpu none leaves none to judge")
    baseline = choose_helions(args, backend_name)
    if args.helion_patch is not None:
        patch_helion(args, backend_name, out)
    if reason := workers_unavailable(backend_name, args.jobs, args.ray):
        raise UsageError(reason)
    if args.examples is not None and (reason := examples_unavailable(args.examples)):
        raise UsageError(reason)
    if args.replay is not None and not (args.replay / "findings").is_dir():
        raise UsageError(f"--replay: {args.replay} has no findings/ directory")
    return baseline


def run_config(args: argparse.Namespace, backend_name: str, out: Path) -> Config:
    """The checks' settings (``judge.checked.Config``), the example database's seeds among them."""
    from fuzzpass.backends.environment import prepare_environment
    from fuzzpass.fuzz.examples import ExamplesError
    from fuzzpass.fuzz.options import default_policy, example_seeds, examples_location
    from fuzzpass.judge.checked import Config

    baseline = run_refusals(args, backend_name, out)
    try:
        seeds = example_seeds(examples_location(out, args.examples))
    except ExamplesError as e:
        raise UsageError(str(e)) from None
    if seeds:
        say(f"fuzzpass run: {len(seeds)} seed structures from real kernels in the corpus")
    tested = candidate(args)
    prepare_environment()
    policy = args.policy or default_policy(backend_name)
    if refusals := refused_line(policy):
        say(f"fuzzpass run: {refusals}")
    return Config(
        policy=policy,
        backend=backend_name,
        poison=args.poison or flags.POISON_NAMES[0],
        mutant=args.mutant,
        generations=args.tpu,
        seed=announced_seed(args),
        gate=args.tpu if args.check_gate else None,
        candidate=tested,
        gate_rule=args.gate,
        seeds=seeds,
        baseline=baseline,
    )


def refused_line(policy: str) -> str | None:
    """For ``--policy realistic``: how many of its shapes do not fit the VMEM budget and are
    drawn smaller (``generators.realistic.refused``); None for a policy that refuses nothing."""
    from generators.policies import POLICIES
    from generators.realistic import VMEM_BUDGET, refused

    if not POLICIES[policy].realistic:
        return None
    shapes = refused(POLICIES[policy])
    largest = max((was for was, _ in shapes), key=lambda s: s.vmem(), default=None)
    said = f"{len(shapes)} realistic shapes need more than {VMEM_BUDGET >> 20} MiB of VMEM and are drawn smaller"
    return f"{said}, heads first (the largest: {largest}, {largest.vmem() >> 20} MiB)" if largest else said


def announced_seed(args: argparse.Namespace) -> int:
    seed = flags.seed_of(args)
    say(f"fuzzpass {args.command}: seed {seed} (rerun with --seed {seed})")
    return seed


def run_command(args: argparse.Namespace) -> int:
    from fuzzpass.fuzz.options import Budget, Options, default_jobs
    from fuzzpass.fuzz.run import replay

    backend_name, out = args.backend or DEFAULT_BACKEND, flags.out_of(args)
    config = run_config(args, backend_name, out)
    if args.replay is not None:
        from fuzzpass.backends.environment import start_jax

        start_jax(config.backend)  # the findings are checked in this process
        replayed = replay(args.replay, config)
        failing = [r for r in replayed if r.still_fails]
        say(f"{len(replayed)} findings replayed, {len(failing)} still failing")
        return 1 if failing else 0
    minimize = args.minimize_seconds or backend(backend_name).minimize_seconds
    options = Options(
        config,
        args.budget or Budget.parse(flags.DEFAULT_BUDGET),
        args.jobs or default_jobs(backend_name, args.ray),
        out,
        args.timeout,
        not args.no_swarm,
        args.stop_at_first,
        progress=not args.quiet,
        minimize_seconds=0.0 if args.no_minimize else minimize,
        ray=args.ray,
        compile_cache=args.compile_cache or out / "cache",
        examples=args.examples,
    )
    return finish(options, as_json=args.json, profile=args.profile, only_new=args.fail_on == "new")


def finish(options: Options, *, as_json: bool, profile: bool = False, only_new: bool = False) -> int:
    """Run ``options``; the profile and summary asked for; 1 for a finding that counts (any, or
    only a new one)."""
    from fuzzpass.fuzz.run import run

    try:
        result = run(options)
    except RuntimeError as e:
        raise UsageError(str(e)) from None
    if profile:
        from fuzzpass.core.profile import table

        say("\n".join(table(result.stages, result.cases)))
    if as_json:
        print(json.dumps(result.to_json(), indent=2))
    return 1 if [f for f in result.findings if f.new or not only_new] else 0


def exhaust_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--max-nodes",
        type=flags.positive_int,
        required=True,
        metavar="K",
        help="graph nodes, loads and stores included",
    )
    flags.add(p, "--seed", "--jobs", "--budget", "--backend", "--poison", "--out", "--mutant", "--pass", "--gate")
    p.add_argument(
        "--enumerate",
        choices=("exhaust", "relayouts"),
        default="exhaust",
        help="what the enumeration ranges over (relayouts: a squeeze, unsqueeze, x[:, None] or expand on every path)",
    )
    p.add_argument(
        "--differing",
        action="store_true",
        help="with --pass or --mutant: only structures where that pass decides or compiles otherwise than the "
        "reference (the others are the reference's, which exhaust without --pass checks)",
    )
    flags.add(p, "--stop-at-first", "--timeout", "--no-minimize", "--json", "--quiet")


def exhaust_command(args: argparse.Namespace) -> int:
    from fuzzpass.backends.environment import prepare_environment
    from fuzzpass.fuzz.options import Budget, Options, default_jobs, workers_unavailable
    from fuzzpass.judge.checked import Config

    backend_name, out = args.backend or DEFAULT_BACKEND, flags.out_of(args)
    if reason := workers_unavailable(backend_name, args.jobs, None):
        raise UsageError(reason)
    tested = candidate(args)
    if args.differing and not (tested or args.mutant):
        raise UsageError("exhaust --differing: give --pass or --mutant (differing from what?)")
    prepare_environment()
    config = Config(
        policy="exhaust", backend=backend_name, poison=args.poison or flags.POISON_NAMES[0], mutant=args.mutant,
        seed=announced_seed(args), candidate=tested, gate_rule=args.gate,
    )  # fmt: skip
    options = Options(
        config,
        args.budget or Budget(),
        args.jobs or default_jobs(backend_name, None),
        out,
        args.timeout,
        use_swarm=False,
        stop_at_first=args.stop_at_first,
        progress=not args.quiet,
        minimize_seconds=0.0 if args.no_minimize else backend(backend_name).minimize_seconds,
        compile_cache=out / "cache",
        exhaust=args.max_nodes,
        exhaust_policy=args.enumerate,
        differing=args.differing,
    )
    return finish(options, as_json=args.json)


def mutants_options(p: argparse.ArgumentParser) -> None:
    flags.add(p, "--seed", "--jobs", "--policy", "--budget", "--only", "--pass", "--out", "--json")
    p.add_argument(
        "--minimize",
        type=flags.positive,
        metavar="SECONDS",
        help="also minimize each first finding within SECONDS and report its size before and after",
    )


def mutants_command(args: argparse.Namespace) -> int:
    from fuzzpass.backends.environment import prepare_environment
    from fuzzpass.fuzz.campaign import campaign, table
    from fuzzpass.fuzz.options import Budget

    unknown = [n for n in args.only or () if n not in flags.MUTANT_NAMES]
    if unknown:
        raise UsageError(f"--only: unknown mutant {unknown} (known: {', '.join(flags.MUTANT_NAMES)})")
    tested = candidate(args)
    prepare_environment()
    rows = campaign(
        [tested] if tested else args.only or flags.MUTANT_NAMES,
        policy=args.policy,
        seed=announced_seed(args),
        budget=args.budget or Budget.parse(flags.DEFAULT_BUDGET),
        jobs=args.jobs or os.cpu_count() or 1,
        out=args.out,
        minimize_seconds=args.minimize,
        log=say,
    )
    print(json.dumps(rows, indent=2) if args.json else "\n".join(table(rows, minimized=bool(args.minimize))))
    return 0 if all(row["killed"] for row in rows) else 1
