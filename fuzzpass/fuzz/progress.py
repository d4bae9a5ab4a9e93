"""What a run shows while it works: a progress line and the live decision-coverage table.

On a terminal both are redrawn in place a few times a second; in a log (CI, nightly) the
progress line is printed every 15 seconds and the tables once at the end, so logs stay short.
Everything goes to stderr; stdout is left for ``--json``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable
from typing import Any

from fuzzpass.backends import backend, helions
from fuzzpass.fuzz.coverage import missing, neighbour_table, neighbours_missing, table
from fuzzpass.fuzz.options import Options
from fuzzpass.fuzz.store import Finding
from fuzzpass.fuzz.summary import BaselineTally, RunResult
from reference.gates import DEFAULT as DEFAULT_GATE


def bar(fraction: float, width: int = 24) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Progress:
    def __init__(self, options: Options, enabled: bool = True, stream: Any = None) -> None:
        self.o = options
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.drawn = 0  # lines of the live block now on screen
        self.last = 0.0

    def status(self, r: RunResult, workers: Iterable[Any] = ()) -> str:
        b = self.o.budget
        if b.seconds is not None:
            done, goal = r.seconds / b.seconds, f"{r.seconds:5.0f}/{b.seconds:g} s"
        else:
            done, goal = r.cases / (b.cases or 1), f"{r.cases}/{b.cases} cases, {r.seconds:.0f} s"
        rate = r.cases / r.seconds if r.seconds else 0.0
        alive = sum(1 for w in workers if not w.done)
        return (
            f"{bar(done)} {goal}  {r.cases} cases  {rate:.1f} cases/s  findings {len(r.findings)}  "
            f"timeouts {r.timeouts}  workers {alive}"
        )

    def update(self, r: RunResult, workers: Iterable[Any]) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.last < (0.25 if self.tty else 15.0):
            return
        self.last = now
        if self.tty:
            self._redraw([self.status(r, workers), "", *table(r.reasons, r.options.config.gate_rule)])
        else:
            print(self.status(r, workers), file=self.stream, flush=True)

    def finding(self, f: Finding) -> None:
        if not self.enabled:
            return
        self._clear()
        tag = "new" if f.new else "seen before"
        print(f"finding ({tag}) at {f.first_at:.1f} s: {f.signature}\n  {f.case}", file=self.stream, flush=True)

    def note(self, line: str) -> None:
        if self.enabled:
            self._clear()
            print(line, file=self.stream, flush=True)

    def close(self, r: RunResult) -> None:
        if not self.enabled:
            return
        self._clear()
        print(summary(r), file=self.stream, flush=True)

    def _redraw(self, lines: list[str]) -> None:
        self._clear()
        print("\n".join(lines), file=self.stream, flush=True)
        self.drawn = len(lines)

    def _clear(self) -> None:
        if self.tty and self.drawn:
            self.stream.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0


def baseline_lines(b: BaselineTally, label: str) -> list[str]:
    """``--helion-baseline``: how many cases both Helions checked, and what changed between them."""
    lines = [
        f"baseline Helion {label}: {b.compared} cases compared, {b.not_run} not run there; "
        f"{sum(b.regressed.values())} findings regressed since it, {sum(b.fixed.values())} fixed since it"
    ]
    lines += [f"  fixed since {label}: {n:>5}  {what}" for what, n in b.fixed.most_common(8)]
    return lines


def summary(r: RunResult) -> str:
    """The closing report: totals, findings, coverage."""
    c = r.options.config
    rate = r.cases / r.seconds if r.seconds else 0.0
    lines = [
        f"fuzzpass {'exhaust' if r.exhaust else 'run'}: seed {c.seed}, policy {c.policy}, backend {c.backend}, "
        f"poison {c.poison}"
        + (f", pass {c.pass_label}" if c.pass_label else "")
        + (f", gate {c.gate_rule}" if c.gate_rule != DEFAULT_GATE else "")
        + (f", {len(c.seeds)} seed structures from real kernels" if c.seeds else ""),
        f"{r.cases} cases in {r.seconds:.1f} s ({rate:.1f} cases/s), stopped by {r.stopped}; "
        f"verdicts: {', '.join(f'{k} {v}' for k, v in sorted(r.verdicts.items())) or 'none'}",
        f"eager variant leaked NaN/Inf under nan poison in {r.eager_nonfinite} cases (the baseline's known hazard)",
        "",
    ]
    if backend(c.backend).numerics is None:  # the reference's kernels do not run (Helion's are judged, or compiled)
        del lines[2]
    if backend(c.backend).helion:
        lines[-1:-1] = [f"Helion {helions.label()}; the reference models {r.rules}"]
    if r.helion:
        lines[-1:-1] = [
            f"Helion's pass decided as the reference on {r.helion['agree']} of "
            f"{r.helion['agree'] + r.helion['differ']} (load, tile) decisions ({r.helion_agreement:.1%})"
        ]
    if c.baseline is not None:
        lines[-1:-1] = baseline_lines(r.baseline, c.baseline.label)
    if r.findings:
        lines.append(f"{'finding':<72}{'count':>7}  first case")
        for f in r.findings:
            lines.append(f"{str(f.signature)[:71]:<72}{f.count:>7}  {f.case}{'' if f.new else '  (seen before)'}")
            if f.repro:
                lines.append(f"{'':<79}  repro: {f.repro}")
    else:
        lines.append("no findings")
    lines += ["", *table(r.reasons, r.options.config.gate_rule), "", *neighbour_table(r.neighbours, r.absent_rules)]
    if r.exhaust is not None:
        lines += ["", *r.exhaust.lines()]
    if compiles := r.compiles.table():
        lines += ["", *compiles]
    if helion_compiles := r.helion_compiles.table():
        lines += ["", "Helion's kernels (pass on and off):", *helion_compiles]
    if r.unsupported:
        lines.append(f"one case of each rejection of every variant: {r.options.out / 'unsupported'}/")
    if gaps := missing(r.reasons, c.gate_rule):
        lines.append(f"reasons never given: {', '.join(gaps)}")
    if gaps := neighbours_missing(r.neighbours, r.absent_rules):
        lines.append(f"branches of Helion's rules never taken: {', '.join(gaps)}")
    lines.append(f"summary: {r.options.out / 'summary.json'}")
    return "\n".join(lines)
