"""The commands that read what runs wrote or what TPU compilers schedule: ``report`` (the
morning page of a run), ``gate-report`` (a ``--check-gate`` run per generation and pattern) and
``bench`` (the dense-KV table: measured TFLOP/s quoted beside static speedups)."""

from __future__ import annotations

import argparse
from pathlib import Path

from fuzzpass.backends import TPU_AOT, unavailable
from fuzzpass.commands import flags
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.say import say


def report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="the run's --out directory")
    flags.add(p, "--output")


def report_command(args: argparse.Namespace) -> int:
    from fuzzpass.report.write import write_report

    if not args.out.is_dir():
        raise UsageError(f"{args.out} is not a run's --out directory")
    print(write_report(args.out, args.output))
    return 0


def gate_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="the run's --out directory")


def gate_report_command(args: argparse.Namespace) -> int:
    from fuzzpass.perf.gate_report import load, report

    path = args.out / "gate.jsonl"
    if not path.is_file():
        raise UsageError(f"{path} does not exist (run with --check-gate)")
    print("\n".join(report(load(path))))
    return 0


def bench_options(p: argparse.ArgumentParser) -> None:
    flags.add(p, "--tpu", "--mutant")


def bench_command(args: argparse.Namespace) -> int:
    from fuzzpass.backends import schedule
    from fuzzpass.backends.environment import start_jax

    if reason := unavailable(TPU_AOT):
        raise UsageError(f"bench: {reason}")
    if not args.tpu:
        raise UsageError("--tpu: bench compiles for TPU generations; --tpu none leaves none")
    schedule.enable()
    start_jax()
    from fuzzpass.perf import bench

    print("\n".join(bench.report(args.tpu, args.mutant, say)))
    return 0
