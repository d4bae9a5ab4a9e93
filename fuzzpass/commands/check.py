"""``fuzzpass check CASE.json``: one case compiled with and without deferral, both judged.

JAX starts only once the case file has been read: a malformed file answers at once, with one
line naming its field (and with ``--json``, ``{"verdict": "invalid", ...}`` on stdout)."""

from __future__ import annotations

import argparse
import json

from fuzzpass.commands import flags
from fuzzpass.commands.flags import UsageError
from fuzzpass.commands.passes import candidate, choose_helions


def options(p: argparse.ArgumentParser) -> None:
    p.add_argument("case", help="a fuzzpass.case/1 JSON file")
    flags.add(p, "--json", "--backend", "--poison", "--tpu", "--mutant", "--pass", "--gate")
    p.add_argument("--show-source", action="store_true", help="print both kernels' Pallas source")
    flags.add(p, "--helion", "--helion-baseline")


def command(args: argparse.Namespace) -> int:
    from fuzzpass.core.case import CaseError, load_case

    try:
        case = load_case(args.case)
    except CaseError as e:
        if args.json:
            print(json.dumps({"verdict": "invalid", "error": str(e)}))
        raise UsageError(f"{args.case}: {e}") from None
    tested = candidate(args)
    baseline = choose_helions(args, args.backend)
    poison = args.poison or flags.POISON_NAMES[0]
    from fuzzpass.backends.environment import start_jax

    start_jax(args.backend)
    from fuzzpass.judge.candidate import under_test
    from fuzzpass.judge.check import check_case
    from fuzzpass.judge.render import render_baseline, render_check
    from fuzzpass.judge.result import BackendUnavailable
    from fuzzpass.judge.verdict import Kind

    try:
        result = check_case(
            case, backend=args.backend, poison=poison, generations=args.tpu,
            mutant=under_test(args.mutant, tested), gate_rule=args.gate,
        )  # fmt: skip
    except BackendUnavailable as e:
        raise UsageError(str(e)) from None
    payload = result.to_json()
    if baseline is not None and payload.get("helion"):
        from fuzzpass.judge.checked import Config, against_baseline

        config = Config(backend="helion", poison=poison, generations=args.tpu, baseline=baseline)
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
