"""``fuzzpass run``: a budgeted fuzz run over worker processes that survives its kernels.

The parent process draws nothing and compiles nothing: it starts ``--jobs`` workers (each an
:class:`~fuzzpass.engine.Explorer` with its own seed and swarm subset), receives every checked
case, writes each new finding at once, shows progress and coverage, and enforces the budget
and the per-case timeout. A worker that hangs past the timeout is killed and its case recorded
as ``timeout``; one that dies is recorded as ``crash``; either way a new worker takes its place
and the run goes on. Everything a worker sends is on disk before the next message is read, so
killing the run loses nothing it already found.

Layout of ``--out``: ``findings/<signature>/{case.json,verdict.json}``, ``corpus/`` (the
Hypothesis example database), ``logs/worker-<n>.log`` and ``summary.json``.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import random
import re
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzpass.case import Case, parse_case
from fuzzpass.coverage import branches, reasons_of
from fuzzpass.engine import Checked, Config, Explorer, LastingCorpus, derive_seed, unchecked_report
from fuzzpass.progress import Progress
from fuzzpass.repros import ReproQueue
from fuzzpass.signature import Signature, pattern, signature
from generators.policies import swarm


class BudgetError(ValueError):
    """A ``--budget`` that is neither a duration nor a number of cases."""


@dataclass(frozen=True)
class Budget:
    """Seconds or cases (``120``, ``90s``, ``10m``, ``2h``, ``500cases``)."""

    seconds: float | None = None
    cases: int | None = None

    @classmethod
    def parse(cls, text: str) -> Budget:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|h|c|cases)?\s*", text)
        if not m or float(m.group(1)) <= 0:
            raise BudgetError(f"{text!r} is not a budget (seconds: 120, 90s, 10m, 2h; cases: 500cases)")
        number, unit = float(m.group(1)), m.group(2) or "s"
        if unit in ("c", "cases"):
            return cls(cases=int(number))
        return cls(seconds=number * {"s": 1, "m": 60, "h": 3600}[unit])

    def __str__(self) -> str:
        return f"{self.cases} cases" if self.cases is not None else f"{self.seconds:g} s"


@dataclass
class Finding:
    """One signature seen in this run: where its first case lies and how often it recurred."""

    signature: Signature
    case: Path
    verdict: Path
    first_at: float
    count: int = 1
    new: bool = True  # not in ``--out`` before this run
    worker: tuple[int, int] | None = None  # (index, incarnation) that found it, while it shrinks
    shrunk: Path | None = None  # Hypothesis' smallest failing example
    minimized: Path | None = None  # after ``fuzzpass minimize``
    repro: Path | None = None  # ``fuzzpass export``'s standalone script

    def to_json(self) -> dict[str, Any]:
        return {
            "signature": str(self.signature),
            **self.signature.to_json(),
            "count": self.count,
            "first_at_s": round(self.first_at, 2),
            "case": str(self.case),
            "verdict_json": str(self.verdict),
            "new": self.new,
            "shrunk": str(self.shrunk) if self.shrunk else None,
            "minimized": str(self.minimized) if self.minimized else None,
            "repro": str(self.repro) if self.repro else None,
        }


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _recorded(path: Path) -> Signature | None:
    """The signature a finding's ``verdict.json`` records; None for a file that is not one."""
    try:
        recorded = json.loads(path.read_text())["signature"]
        return Signature(recorded["kind"], recorded["rule"], recorded["pattern"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class FindingStore:
    """``--out/findings``: one directory per signature, its first case and verdict."""

    def __init__(self, out: Path) -> None:
        self.root = out / "findings"
        self.previous = {sig for p in sorted(self.root.glob("*/verdict.json")) if (sig := _recorded(p))}
        self.found: dict[Signature, Finding] = {}

    def add(self, checked: Checked, at: float) -> Finding | None:
        """Record ``checked``'s finding; the :class:`Finding` when its signature is new here."""
        sig = checked.signature
        assert sig is not None
        if sig in self.found:
            self.found[sig].count += 1
            return None
        where = self.root / sig.slug
        report = dict(checked.report, signature=sig.to_json())
        write_atomically(where / "case.json", checked.case + "\n")
        write_atomically(where / "verdict.json", json.dumps(report, indent=2) + "\n")
        finding = Finding(sig, where / "case.json", where / "verdict.json", at, new=sig not in self.previous)
        self.found[sig] = finding
        return finding


@dataclass
class Options:
    config: Config
    budget: Budget
    jobs: int = 1
    out: Path = Path("fuzzpass-out")
    timeout: float = 60.0
    use_swarm: bool = True
    stop_at_first: bool = False
    stop_at_kill: bool = False  # ``fuzzpass mutants``: stop at the first finding that blames the pass
    progress: bool = True
    minimize_seconds: float = 60.0  # per new finding: Hypothesis shrinks half of it, minimize the rest; 0: off

    @property
    def shrink_seconds(self) -> float:
        return 0.0 if self.stop_at_kill or self.stop_at_first else self.minimize_seconds / 2


@dataclass
class _Worker:
    index: int
    incarnation: int
    process: Any
    disabled: frozenset[str]
    quota: int | None
    ready: bool = False
    done: bool = False
    case: str | None = None  # the case text being checked
    since: float = 0.0
    checked: int = 0


@dataclass
class RunResult:
    """What a run did: the summary written to ``--out/summary.json``."""

    options: Options
    cases: int = 0
    seconds: float = 0.0
    findings: list[Finding] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    eager_nonfinite: int = 0
    timeouts: int = 0
    crashes: int = 0
    audited: int = 0  # cases whose gate was audited (``--check-gate``; ``gate.jsonl``)
    stages: Counter[str] = field(default_factory=Counter)  # worker seconds per stage (``profile``)
    helion: Counter[str] = field(default_factory=Counter)  # per load and tile: Helion agrees or differs
    workers: list[dict[str, Any]] = field(default_factory=list)
    stopped: str = ""

    def to_json(self) -> dict[str, Any]:
        c, o = self.options.config, self.options
        return {
            "seed": c.seed,
            "policy": c.policy,
            "backend": c.backend,
            "poison": c.poison,
            "mutant": c.mutant,
            "jobs": o.jobs,
            "budget": str(o.budget),
            "stopped": self.stopped,
            "cases": self.cases,
            "seconds": round(self.seconds, 2),
            "cases_per_s": round(self.cases / self.seconds, 2) if self.seconds else 0.0,
            "findings": [f.to_json() for f in self.findings],
            "coverage": dict(sorted(self.reasons.items())),
            "branches": branches(self.reasons),
            "verdicts": dict(sorted(self.verdicts.items())),
            "eager_nonfinite": self.eager_nonfinite,
            "gate_audited": self.audited,
            "timeouts": self.timeouts,
            "worker_crashes": self.crashes,
            "workers": self.workers,
            "profile": {name: round(s, 2) for name, s in self.stages.most_common()},
            "helion_decisions": dict(self.helion, rate=self.helion_agreement) if self.helion else None,
        }

    @property
    def helion_agreement(self) -> float | None:
        """The share of (load, tile) decisions on which Helion's pass and the reference agree."""
        total = self.helion["agree"] + self.helion["differ"]
        return round(self.helion["agree"] / total, 4) if total else None


def helion_agreement(report: dict[str, Any]) -> Counter[str]:
    """Per (load, tile) of a ``--backend helion`` check: did Helion decide as the reference?"""
    helion = report.get("helion") or {}
    if "deferred" not in helion:
        return Counter()
    ours, theirs = report["deferred"], helion["deferred"]
    return Counter(
        "agree" if (tile in ours.get(load, [])) == (tile in theirs.get(load, [])) else "differ"
        for load, tiles in report["reasons"].items()
        for tile in tiles
    )


def orphan_watch(parent: int) -> None:
    """End this worker when its parent is gone (killed without a chance to stop it), instead
    of fuzzing on, unseen, for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def worker_main(
    index: int,
    incarnation: int,
    config: Config,
    disabled: frozenset[str],
    out: str,
    quota: int | None,
    shrink_seconds: float,
    q: Any,
    parent: int,
) -> None:
    """A worker process: explore until killed, or until ``quota`` cases are checked."""
    orphan_watch(parent)
    log = open(Path(out) / "logs" / f"worker-{index}.log", "a", buffering=1)  # noqa: SIM115 (lives as the process)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    from fuzzpass.backends import prepare_environment, schedule

    if config.gate is not None:
        schedule.enable()  # before JAX starts libtpu
    prepare_environment()
    count = 0

    def on_start(case: Case) -> None:
        q.put(("start", index, incarnation, case.dumps()))

    def on_case(checked: Checked) -> None:
        nonlocal count
        count += not checked.shrinking
        q.put(("case", index, incarnation, checked))
        if quota is not None and count >= quota:
            q.put(("done", index, incarnation, None))
            q.close()
            q.join_thread()
            os._exit(0)  # Hypothesis has nothing to save: findings were saved when found

    def on_shrunk(found: Signature, case: str) -> None:
        q.put(("shrunk", index, incarnation, (found, case)))

    explorer = Explorer(
        config,
        disabled,
        on_case,
        on_start,
        LastingCorpus(Path(out) / "corpus"),
        shrink_seconds=shrink_seconds,
        on_shrunk=on_shrunk,
    )
    q.put(("ready", index, incarnation, None))
    explorer.explore(index, incarnation)  # returns only by ``os._exit`` above, or by being killed


class Run:
    """The parent: workers, budget, timeouts, findings, progress."""

    def __init__(self, options: Options) -> None:
        self.o = options
        self.result = RunResult(options)
        self.store = FindingStore(options.out)
        self.ctx = mp.get_context("spawn")
        self.queue = self.ctx.Queue()
        self.workers: dict[int, _Worker] = {}
        self.start = 0.0
        self.startup_failures = 0
        self.progress = Progress(options, enabled=options.progress)
        self.repros = ReproQueue(options.out / "logs", options.minimize_seconds / 2)
        self.repros.on_done = lambda finding: self.write_summary()

    # -- workers -------------------------------------------------------------------------

    def quota(self, index: int) -> int | None:
        cases = self.o.budget.cases
        if cases is None:
            return None
        return cases // self.o.jobs + (1 if index < cases % self.o.jobs else 0)

    def spawn(self, index: int, incarnation: int, quota: int | None) -> None:
        disabled: frozenset[str] = frozenset()
        if self.o.use_swarm and index > 0:  # worker 0 keeps every op kind
            disabled = swarm(random.Random(derive_seed(self.o.config.seed, "swarm", index, incarnation)))
        process = self.ctx.Process(
            target=worker_main,
            args=(
                index,
                incarnation,
                self.o.config,
                disabled,
                str(self.o.out),
                quota,
                self.o.shrink_seconds,
                self.queue,
                os.getpid(),
            ),
            daemon=True,
        )
        process.start()
        self.workers[index] = _Worker(index, incarnation, process, disabled, quota)

    def replace(self, w: _Worker, kind: str, message: str) -> None:
        """Record what ``w`` was checking as a ``kind`` finding; start its successor."""
        if w.process.is_alive():
            w.process.kill()
        w.process.join(timeout=10)
        self.unshrunk(lambda worker: worker == (w.index, w.incarnation))  # it died shrinking
        if w.case is not None:
            self.record(_lost(w.case, kind, message), w)
        elif not w.ready:
            self.startup_failures += 1
            if self.startup_failures >= 3:
                log = self.o.out / "logs" / f"worker-{w.index}.log"
                raise RuntimeError(f"workers die before their first case ({message}); see {log}")
        remaining = None if w.quota is None else max(w.quota - w.checked, 0)  # a lost case counted above
        if remaining == 0:
            w.done = True
            return
        self.spawn(w.index, w.incarnation + 1, remaining)

    def unshrunk(self, waiting_on: Callable[[tuple[int, int] | None], bool]) -> None:
        """Findings whose worker will not send Hypothesis' shrunk case: minimize the first one."""
        for finding in self.result.findings:
            if finding.worker is not None and waiting_on(finding.worker):
                finding.worker = None
                self.repros.add(finding, finding.case)

    # -- messages ------------------------------------------------------------------------

    def record(self, checked: Checked, w: _Worker) -> None:
        r = self.result
        if not checked.shrinking:  # checks made while shrinking are not drawn cases
            r.cases += 1
            w.checked += 1
            r.verdicts[checked.verdict] += 1
            r.reasons.update(reasons_of(checked.report))
            r.stages.update(checked.report.get("stages", {}))
            r.helion.update(helion_agreement(checked.report))
            if gate := checked.report.get("gate"):
                r.audited += 1
                with open(self.o.out / "gate.jsonl", "a") as log:  # one line per audited case
                    log.write(
                        json.dumps(dict(gate, case=checked.report["case"], mutant=checked.report["mutant"])) + "\n"
                    )
        eager = checked.report.get("variants", {}).get("eager", {})
        r.eager_nonfinite += bool(eager.get("nonfinite"))
        if checked.verdict == "timeout":
            r.timeouts += 1
        self.keep(checked, w, shrinks=not checked.shrinking)
        for found in checked.gate_findings():
            self.keep(found, w, shrinks=False)  # Hypothesis shrinks the verdict's signature only

    def keep(self, checked: Checked, w: _Worker, shrinks: bool) -> None:
        """Write ``checked``'s finding if its signature is new in this run; queue its repro
        (after the worker's Hypothesis shrinking when ``shrinks``)."""
        r = self.result
        if checked.signature is not None:
            finding = self.store.add(checked, time.monotonic() - self.start)
            if finding is not None:
                r.findings.append(finding)
                self.progress.finding(finding)
                if self.o.minimize_seconds > 0 and checked.signature.kind not in ("timeout", "crash"):
                    if self.o.shrink_seconds > 0 and shrinks:
                        finding.worker = (w.index, w.incarnation)  # Hypothesis shrinks it first
                    else:
                        self.repros.add(finding, finding.case)
                self.write_summary()

    def handle(self, message: tuple[str, int, int, Any]) -> None:
        kind, index, incarnation, payload = message
        w = self.workers.get(index)
        if w is None or w.incarnation != incarnation:
            return  # from a worker already replaced
        if kind == "ready":
            w.ready = True
        elif kind == "start":
            w.case, w.since = payload, time.monotonic()
        elif kind == "case":
            w.case = None
            self.record(payload, w)
        elif kind == "done":
            w.done = True
        elif kind == "shrunk":
            found, case = payload
            finding = next((f for f in self.result.findings if f.signature == found), None)
            if finding is not None and finding.worker is not None:
                finding.worker = None
                finding.shrunk = finding.case.with_name("shrunk.json")
                write_atomically(finding.shrunk, case + "\n")
                self.repros.add(finding, finding.shrunk)

    def watch(self) -> None:
        now = time.monotonic()
        for w in list(self.workers.values()):
            if w.done:
                continue
            if w.case is not None and now - w.since > self.o.timeout:
                self.replace(w, "timeout", f"no verdict after {self.o.timeout:g} s; the worker was replaced")
            elif not w.process.is_alive():
                self.result.crashes += 1
                self.replace(w, "crash", f"worker died ({_exit_reason(w.process.exitcode)})")

    def over(self) -> str:
        if self.o.stop_at_first and self.result.findings:
            return "first finding"
        if self.o.stop_at_kill and any(f.signature.blames_pass for f in self.result.findings):
            return "first finding that blames the pass"
        if self.o.budget.seconds is not None and time.monotonic() - self.start >= self.o.budget.seconds:
            return "time budget"
        if all(w.done for w in self.workers.values()):
            return "case budget"
        return ""

    # -- the run -------------------------------------------------------------------------

    def run(self) -> RunResult:
        (self.o.out / "logs").mkdir(parents=True, exist_ok=True)
        self.start = time.monotonic()
        for index in range(self.o.jobs):
            self.spawn(index, 0, self.quota(index))
        last_summary = self.start
        try:
            while not (stopped := self.over()):
                try:
                    self.handle(self.queue.get(timeout=0.2))
                    while True:  # drain what is already there before redrawing
                        self.handle(self.queue.get_nowait())
                except queue.Empty:
                    pass
                self.watch()
                self.repros.pump()
                self.result.seconds = time.monotonic() - self.start
                self.progress.update(self.result, self.workers.values())
                if time.monotonic() - last_summary > 10:
                    self.write_summary()
                    last_summary = time.monotonic()
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            for w in self.workers.values():
                if w.process.is_alive():
                    w.process.kill()
            for w in self.workers.values():
                w.process.join(timeout=10)
        self.result.stopped = stopped
        self.result.seconds = time.monotonic() - self.start
        self.unshrunk(lambda worker: worker is not None)  # workers stopped before Hypothesis finished
        if self.repros.busy and stopped != "interrupted":
            self.progress.note("minimizing and exporting the findings...")
            self.repros.drain(limit=10 * 60)
        self.write_summary()
        self.progress.close(self.result)
        return self.result

    def write_summary(self) -> None:
        self.result.seconds = time.monotonic() - self.start
        self.result.workers = [
            {"worker": w.index, "incarnation": w.incarnation, "disabled": sorted(w.disabled)}
            for w in self.workers.values()
        ]
        write_atomically(self.o.out / "summary.json", json.dumps(self.result.to_json(), indent=2) + "\n")


def _exit_reason(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


def _lost(case_text: str, kind: str, message: str) -> Checked:
    """A case whose worker hung or died: a finding with the worker's story, no numerics."""
    case = parse_case(json.loads(case_text))
    report = unchecked_report(case, kind, "worker", message)
    return Checked(case_text, kind, Signature(kind, "worker", pattern(case.spec)), report, 0.0)


def run(options: Options) -> RunResult:
    """A run; SIGTERM (a CI timeout, ``kill``) ends it as Ctrl-C does: workers stopped, the
    summary written."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        return Run(options).run()
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class Replayed:
    path: Path
    was: str
    now: str
    signature: Signature | None


def replay(out: Path, config: Config) -> list[Replayed]:
    """Re-check every saved finding under ``out`` with ``config`` (in this process)."""
    from fuzzpass.case import load_case
    from fuzzpass.engine import check

    results = []
    for path in sorted((out / "findings").glob("*/case.json")):
        was = json.loads((path.parent / "verdict.json").read_text())["verdict"]
        case = load_case(path)
        checked = check(case, config)
        results.append(Replayed(path, was, checked.verdict, signature(checked.report, case.spec)))
        print(f"{checked.verdict:<18} (was {was:<18}) {path}", file=sys.stderr)
    return results
