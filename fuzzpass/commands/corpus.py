"""``fuzzpass corpus PATH...``: the pass on real Helion kernels (``fuzzpass.kernels``): every
call recorded, then each judged alone; where the pass fired and a case can state it, the case
becomes a seed of the example database that ``fuzzpass run --examples`` reads."""

from __future__ import annotations

import argparse
import json
import os

from fuzzpass.commands import flags
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.say import say


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", metavar="PATH", help="a kernel file, a directory, a Helion test file")
    flags.add(p, "--out", "--jobs", "--tpu")
    p.add_argument("--no-gate", action="store_true", help="no gate audit where the pass fired")
    flags.add(p, "--timeout", "--examples", "--only", "--seed", "--ray", "--json")


def command(args: argparse.Namespace) -> int:
    from fuzzpass.backends import helion, helion_tpu
    from fuzzpass.core.supervisor import WorkersCannotStart
    from fuzzpass.fuzz.options import examples_location, examples_unavailable
    from fuzzpass.kernels import calls
    from fuzzpass.kernels.campaign import CorpusOptions, run_corpus
    from fuzzpass.kernels.collect import Unreadable
    from fuzzpass.kernels.results import closing, table, write_results

    if reason := helion.unavailable():
        raise UsageError(f"corpus: {reason}")
    if args.tpu and (reason := helion_tpu.unavailable()):
        raise UsageError(f"--tpu: {reason} (--tpu none skips the compiles)")
    if args.examples is not None and (reason := examples_unavailable(args.examples)):
        raise UsageError(reason)
    out = flags.out_of(args)
    options = CorpusOptions(
        paths=tuple(args.paths),
        out=out,
        jobs=args.jobs or os.cpu_count() or 1,
        generations=args.tpu,
        gate=None if args.no_gate or not args.tpu else args.tpu,
        timeout=args.timeout,
        examples=examples_location(out, args.examples),
        only=args.only or (),
        seed=flags.seed_of(args),  # run_corpus prints it
        ray=args.ray,
    )
    try:
        corpus = run_corpus(options, say)
    except (Unreadable, calls.Unreadable, WorkersCannotStart) as e:
        raise UsageError(f"corpus: {e}") from None
    events = corpus["events"]  # write_results takes them out of corpus
    summary = write_results(options, corpus)
    lines = ["", *table(events, options.generations, options.gate), "", *closing(summary)]
    say("\n".join(lines))
    say(f"summary: {out / 'summary.json'}; report: {out / 'report.html'}")
    if args.json:
        print(json.dumps(summary, indent=2))
    return 1 if summary["corpus"]["findings"] else 0
