"""A real kernel's finding, judged again from its folder: the repro of ``fuzzpass corpus``.

``OUT/findings/<signature>/`` holds the recorded call (``call.pkl``, ``data.pt``: the kernel, its arguments,
its config and the file's reference) and the event that raised the finding (``kernel.json``).
``python -m fuzzpass.kernels.rejudge FOLDER`` judges that call again with the generations it
was judged with, without running the file's tests, and exits 1 while the finding reproduces,
0 once it does not (printing what the call shows now), 2 when the folder cannot be read. The
kernel's source file must still be where it was recorded (Helion reads a kernel's source).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from fuzzpass.kernels import calls
from fuzzpass.kernels.calls import Settings
from fuzzpass.kernels.campaign import signature_of
from fuzzpass.kernels.judge_worker import judge_stored, prepare


def signatures(event: dict[str, Any]) -> set[str]:
    return {str(signature_of(event, f)) for f in event.get("findings", []) if f["kind"] != "helion-tpu-unsupported"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzzpass.kernels.rejudge")
    parser.add_argument("folder", type=Path, help="a finding's folder under OUT/findings")
    args = parser.parse_args(argv)
    try:
        recorded = calls.read_json(args.folder / "kernel.json")
        if recorded is None:
            raise calls.Unreadable(f"{args.folder / 'kernel.json'}: not there")
    except calls.Unreadable as e:
        print(f"rejudge: error: {e}", file=sys.stderr)
        return 2
    settings = Settings.from_json(recorded.get("judged_with") or {})
    prepare(settings, cache=None)
    try:
        event = judge_stored(args.folder, settings)
    except calls.Unreadable as e:
        print(f"rejudge: error: {e}", file=sys.stderr)
        return 2
    wanted, now = signatures(recorded), signatures(event)
    if still := sorted(wanted & now):
        print("\n".join(f"reproduces: {s}" for s in still))
        return 1
    shown = json.dumps({"verdict": event.get("verdict"), "numerics": event.get("numerics")}, indent=1)
    print(f"does not reproduce: {', '.join(sorted(wanted))}\nnow: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
