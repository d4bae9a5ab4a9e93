"""The ``fuzzpass`` command: parses arguments and calls library functions.

JAX and libtpu are imported only inside the commands that need them, so ``--help`` and a
malformed case file answer at once. Exit codes: 0 the case holds, 1 a defect was found,
2 the file or the command line is invalid (one line naming the field).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from fuzzpass.data import POISONS


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
    return top


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
        result = check_case(case, backend=args.backend, poison=args.poison, generations=args.tpu)
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


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return {"check": cmd_check}[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
