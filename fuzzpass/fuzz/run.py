"""``fuzzpass run``: a budgeted fuzz run over worker processes that survives its kernels.

The parent process draws nothing and compiles nothing: it starts ``--jobs`` workers (each an
:class:`~fuzzpass.fuzz.explorer.Explorer` with its own seed and swarm subset), receives every checked
case, writes each new finding at once, shows progress and coverage, and enforces the budget
and the per-case timeout. A worker that hangs past the timeout is killed and its case recorded
as ``timeout``; one that dies is recorded as ``crash``; either way a new worker takes its place
and the run goes on. Everything a worker sends is on disk before the next message is read, so
killing the run loses nothing it already found.

Layout of ``--out``: ``findings/<signature>/{case.json,verdict.json}``, ``corpus/`` (the
Hypothesis example database, unless ``--corpus`` puts it elsewhere), ``cache/`` (compiled
programs), ``logs/worker-<n>.log``, ``summary.json`` and, at the end, ``report.html``.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import queue
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from fuzzpass.backends import backend, chips, helions
from fuzzpass.backends.tpu_aot import DEFAULT_GENERATIONS
from fuzzpass.core.case import load_case, parse_case
from fuzzpass.core.files import write_atomically
from fuzzpass.fuzz.coverage import neighbours_of, reasons_of
from fuzzpass.fuzz.exhaust import Tally, plan, sizes_line
from fuzzpass.fuzz.explorer import swarm_of
from fuzzpass.fuzz.options import Budget, Options
from fuzzpass.fuzz.progress import Progress
from fuzzpass.fuzz.store import FindingStore, UnsupportedStore
from fuzzpass.fuzz.summary import RunResult, helion_agreement
from fuzzpass.fuzz.worker import worker_main
from fuzzpass.judge.candidate import under_test
from fuzzpass.judge.checked import Checked, Config, check, unchecked_report
from fuzzpass.judge.signature import Signature, pattern, signature
from fuzzpass.repro.queue import ReproQueue


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
    saving: bool = False  # its last message was a finding, which Hypothesis may still be writing to the corpus
    checked: int = 0


class Run:
    """The parent: workers, budget, timeouts, findings, progress."""

    def __init__(self, options: Options) -> None:
        self.cluster: Any = None
        if options.ray is not None:  # workers are Ray actors (fuzz/cluster.py); the rest is the same
            from fuzzpass.fuzz.cluster import Cluster

            address = None if options.ray == "local" else options.ray
            self.cluster = Cluster(address, options.corpus_location, options.config.backend)
            if options.jobs is None:
                options = replace(options, jobs=self.cluster.slots())
        assert options.jobs is not None, "only a Ray run sizes itself from its cluster"
        exhaustive = None
        if options.exhaust is not None:
            config = options.config
            differing = under_test(config.mutant, config.candidate) if options.differing else None
            exhaustive = plan(options.exhaust, options.exhaust_policy, differing)
        if exhaustive is not None:  # the parent enumerates too: to count, and to size each worker's share
            print(sizes_line(exhaustive), file=sys.stderr, flush=True)
            if options.budget.seconds is None and options.budget.cases is None:
                options = replace(options, budget=Budget(cases=exhaustive.cases))
        self.o = options
        self.result = RunResult(options)
        self.store = FindingStore(options.out)
        self.unsupported = UnsupportedStore(options.out)
        if self.cluster is not None:
            self.ctx, self.corpus = self.cluster, self.cluster.corpus
            self.queue, self.outbox = self.cluster.queue, self.cluster.post  # the driver's and the workers' ends
        else:
            self.ctx = mp.get_context("spawn")
            self.queue = self.outbox = self.ctx.Queue()
            self.corpus = options.corpus_location
        self.workers: dict[int, _Worker] = {}
        self.start = 0.0
        self.startup_failures = 0
        self.progress = Progress(options, enabled=options.progress)
        self.tally = Tally(exhaustive) if exhaustive is not None else None
        self.result.exhaust = self.tally
        self.repros = ReproQueue(options.out / "logs", options.minimize_seconds / 2)
        self.repros.on_done = lambda finding: self.write_summary()

    # -- workers -------------------------------------------------------------------------

    def quota(self, index: int) -> int | None:
        if self.tally is not None:
            return self.tally.plan.cases_of(index, self.o.jobs)
        cases = self.o.budget.cases
        if cases is None:
            return None
        return cases // self.o.jobs + (1 if index < cases % self.o.jobs else 0)

    def spawn(self, index: int, incarnation: int, quota: int | None) -> None:
        disabled = swarm_of(self.o.config.seed, index, incarnation) if self.o.use_swarm else frozenset()
        process = self.ctx.Process(
            target=worker_main,
            args=(
                index,
                incarnation,
                self.o.config,
                disabled,
                None if self.o.ray else str(self.o.out / "logs" / f"worker-{index}.log"),
                self.corpus,
                quota,
                self.o.shrink_seconds,
                self.outbox,
                None if self.o.ray else os.getpid(),
                self.environment(index),
                str(self.o.compile_cache) if self.o.compile_cache else None,
                (self.tally.plan, self.o.jobs) if self.tally is not None else None,  # enumerated once, here
            ),
            daemon=True,
        )
        process.start()
        self.workers[index] = _Worker(index, incarnation, process, disabled, quota)

    def environment(self, index: int) -> dict[str, str]:
        """What worker ``index`` sets before JAX starts: its TPU chip (a process worker of the
        tpu backend) and the Helion it imports (``--helion``: a Ray actor does not inherit it)."""
        runs_on = backend(self.o.config.backend)
        env = chips.environment(index) if runs_on.on_chips and not self.o.ray else {}
        return {**env, **helions.current().env()} if runs_on.helion else env

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
        if self.tally is not None:
            self.tally.add(checked.report["case"])
        if not checked.shrinking:  # checks made while shrinking are not drawn cases
            r.cases += 1
            w.checked += 1
            r.verdicts[checked.verdict] += 1
            r.reasons.update(reasons_of(checked.report))
            r.neighbours.update(neighbours_of(checked.report))
            r.stages.update(checked.report.get("stages", {}))
            r.helion.update(helion_agreement(checked.report))
            r.baseline.add(checked.report)
            gens = DEFAULT_GENERATIONS if self.o.config.generations is None else self.o.config.generations
            r.compiles.add(checked.report, gens)
            r.helion_compiles.add_helion(checked.report)
            self.unsupported.add(checked)
            reference, theirs = checked.report.get("gate"), (checked.report.get("helion") or {}).get("gate")
            theirs = theirs if isinstance(theirs, dict) else None  # a text says why Helion's is unavailable
            r.audited += reference is not None
            r.helion_audited += theirs is not None
            if audits := [a for a in (reference, theirs) if a is not None]:
                # one line per audit of a case, with its case file: a gate can be refitted from the log alone
                with open(self.o.out / "gate.jsonl", "a") as log:
                    for gate in audits:
                        line = dict(gate, case=checked.report["case"], mutant=checked.report["mutant"])
                        log.write(json.dumps(dict(line, case_file=json.loads(checked.case))))
                        log.write("\n")
        eager = checked.report.get("variants", {}).get("eager", {})
        r.eager_nonfinite += bool(eager.get("nonfinite") or checked.report.get("eager_hazard"))
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
        w.saving = kind == "case" and payload.signature is not None
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
                died = getattr(w.process, "death", None) or _exit_reason(w.process.exitcode)  # an actor says why
                self.replace(w, "crash", f"worker died ({died})")

    def settle(self, seconds: float = 5.0) -> None:
        """Before workers are stopped: wait, briefly, for each whose last case was a finding to
        say anything more. Hypothesis writes a failing example to the corpus before it runs
        another, so its next message means the finding is in the corpus, not lost with the
        process (a Redis corpus is a network round trip away). What they say is not recorded:
        the run is over."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and any(w.saving and w.process.is_alive() for w in self.workers.values()):
            with contextlib.suppress(queue.Empty):
                _, index, incarnation, _ = self.queue.get(timeout=0.1)
                if (w := self.workers.get(index)) is not None and w.incarnation == incarnation:
                    w.saving = False

    def over(self) -> str:
        if self.o.stop_at_first and self.result.findings:
            return "first finding"
        if self.o.stop_at_kill and any(f.signature.blames_pass for f in self.result.findings):
            return "first finding that blames the pass"
        if self.o.budget.seconds is not None and time.monotonic() - self.start >= self.o.budget.seconds:
            return "time budget"
        if self.tally is None:
            return "case budget" if all(w.done for w in self.workers.values()) else ""
        if self.result.cases >= self.tally.plan.cases or all(w.done for w in self.workers.values()):
            return "every structure checked"
        if self.o.budget.cases is not None and self.result.cases >= self.o.budget.cases:
            return "case budget"
        return ""

    # -- the run -------------------------------------------------------------------------

    def run(self) -> RunResult:
        (self.o.out / "logs").mkdir(parents=True, exist_ok=True)
        self.start = time.monotonic()
        self.result.timeline.append((0.0, 0, 0))  # the timeline starts with the run
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
            self.settle()
            for w in self.workers.values():
                if w.process.is_alive():
                    w.process.kill()
            for w in self.workers.values():
                w.process.join(timeout=10)
            if self.cluster is not None:
                self.cluster.shutdown()
        self.result.stopped = stopped
        self.result.seconds = time.monotonic() - self.start
        self.unshrunk(lambda worker: worker is not None)  # workers stopped before Hypothesis finished
        if self.repros.busy and stopped != "interrupted":
            self.progress.note("minimizing and exporting the findings...")
            self.repros.drain(limit=10 * 60)
        self.write_summary()
        self.write_report()
        self.progress.close(self.result)
        return self.result

    def write_report(self) -> None:
        """``--out/report.html``, the morning report; a report that cannot be written costs a
        line on stderr, never the run's result (``fuzzpass report DIR`` writes it again)."""
        from fuzzpass.report.write import write_report

        try:
            write_report(self.o.out)
        except Exception as e:  # the run's findings and summary are already on disk
            print(f"fuzzpass: report.html not written: {type(e).__name__}: {e}", file=sys.stderr)

    def write_summary(self) -> None:
        self.result.seconds = time.monotonic() - self.start
        self.result.mark_time()
        self.result.unsupported = {m: str(p) for m, p in self.unsupported.examples.items()}
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

    @property
    def still_fails(self) -> bool:
        """Whether the finding is still a finding (a verdict counted and never a finding,
        such as ``helion-known``, is not)."""
        return self.signature is not None


def replay(out: Path, config: Config) -> list[Replayed]:
    """Re-check every saved finding under ``out`` with ``config`` (in this process)."""
    results = []
    for path in sorted((out / "findings").glob("*/case.json")):
        was = json.loads((path.parent / "verdict.json").read_text())["verdict"]
        case = load_case(path)
        checked = check(case, config)
        results.append(Replayed(path, was, checked.verdict, signature(checked.report, case.spec)))
        print(f"{checked.verdict:<18} (was {was:<18}) {path}", file=sys.stderr)
    return results
