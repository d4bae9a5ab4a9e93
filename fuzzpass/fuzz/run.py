"""``fuzzpass run``: a budgeted fuzz run over worker processes that survives its kernels.

The parent process draws nothing and compiles nothing: it runs ``--jobs`` workers on the one
worker supervisor (``core/supervisor.py``; processes, or Ray actors with ``--ray``), each
exploring a shard (:class:`~fuzzpass.fuzz.worker.Shard`: an
:class:`~fuzzpass.fuzz.explorer.Explorer` with its own seed and swarm subset), receives every
checked case, writes each new finding at once, shows progress and coverage, and enforces the
budget. A worker silent on a case past the timeout is killed and its case recorded as
``timeout``; one that dies is recorded as ``crash``; either way the shard's next incarnation
takes its place with what is left of its quota, and the run goes on. Everything a worker sends
is on disk before the next message is read, so killing the run loses nothing it already found.

Layout of ``--out``: ``findings/<signature>/{case.json,verdict.json}``, ``examples/`` (the
Hypothesis example database, unless ``--examples`` puts it elsewhere), ``cache/`` (compiled
programs), ``logs/worker-<n>.log``, ``summary.json`` and, at the end, ``report.html``.
"""

from __future__ import annotations

import json
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
from fuzzpass.core.supervisor import Launcher, Lost, Supervisor
from fuzzpass.core.workers.messages import Task
from fuzzpass.core.workers.processes import ProcessLauncher
from fuzzpass.fuzz.coverage import neighbours_of, reasons_of
from fuzzpass.fuzz.exhaust import Tally, plan, sizes_line
from fuzzpass.fuzz.explorer import swarm_of
from fuzzpass.fuzz.options import Budget, Options
from fuzzpass.fuzz.progress import Progress
from fuzzpass.fuzz.store import FindingStore, UnsupportedStore
from fuzzpass.fuzz.summary import RunResult, helion_agreement
from fuzzpass.fuzz.worker import Setup, Shard, Shrunk, Started, explorer
from fuzzpass.judge.candidate import under_test
from fuzzpass.judge.checked import Checked, Config, check, unchecked_report
from fuzzpass.judge.signature import Signature, pattern, signature
from fuzzpass.repro.queue import ReproQueue


@dataclass
class _Shard:
    """The run's record of one shard's current incarnation."""

    index: int
    incarnation: int
    quota: int | None
    disabled: frozenset[str]
    done: bool = False
    case: str | None = None  # the case text being checked
    # its last message was a finding, which Hypothesis may still be writing to the example database:
    saving: bool = False
    checked: int = 0


class Run:
    """The parent: workers, budget, timeouts, findings, progress."""

    def __init__(self, options: Options) -> None:
        self.cluster: Any = None
        if options.ray is not None:  # workers are Ray actors (fuzz/cluster.py); the rest is the same
            from fuzzpass.fuzz.cluster import Cluster

            self.cluster = Cluster(options.ray, options.examples_at, options.config.backend)
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
        self.launcher: Launcher = self.cluster.launcher if self.cluster is not None else ProcessLauncher(self.log_of)
        self.shards: dict[int, _Shard] = {}
        self.start = self.last_summary = 0.0
        self.stopped = ""  # why the run stopped, once it has
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

    def log_of(self, index: int) -> Path:
        return self.o.out / "logs" / f"worker-{index}.log"

    def setup(self) -> Setup:
        """What every worker gets (the exhaust plan enumerated once, here)."""
        return Setup(
            self.o.config,
            self.cluster.examples if self.cluster is not None else self.o.examples_at,
            self.o.shrink_seconds,
            str(self.o.compile_cache) if self.o.compile_cache else None,
            (self.tally.plan, self.o.jobs) if self.tally is not None else None,
            chip_from_ray=self.cluster is not None and self.cluster.on_chips,
        )

    def task(self, index: int, incarnation: int, quota: int | None) -> Task:
        """Shard ``index``'s ``incarnation``-th worker's task, kept to the slot of the same
        number (its log file, its chip); its clock starts at its first case."""
        disabled = swarm_of(self.o.config.seed, index, incarnation) if self.o.use_swarm else frozenset()
        self.shards[index] = _Shard(index, incarnation, quota, disabled)
        return Task(f"{index}/{incarnation}", Shard(index, incarnation, quota, disabled), slot=index, timed=False)

    def environment(self, index: int) -> dict[str, str]:
        """What worker ``index`` sets before JAX starts: its TPU chip (a process worker of the
        tpu backend) and the Helion it imports (``--helion``: a Ray actor does not inherit it)."""
        runs_on = backend(self.o.config.backend)
        env = chips.environment(index) if runs_on.on_chips and not self.o.ray else {}
        return {**env, **helions.current().env()} if runs_on.helion else env

    def lost(self, loss: Lost) -> Task | None:
        """Record what the lost worker was checking as a ``timeout`` or ``crash`` finding; its
        successor explores the rest of its quota."""
        w = self.shards[loss.task.body.index]
        self.unshrunk(lambda worker: worker == (w.index, w.incarnation))  # it died shrinking
        if loss.died is None:
            kind, message = "timeout", f"no verdict after {self.o.timeout:g} s; the worker was replaced"
        else:
            self.result.crashes += 1
            kind, message = "crash", f"worker died ({loss.died})"
        if w.case is not None:
            self.record(_lost(w.case, kind, message), w)
        remaining = None if w.quota is None else max(w.quota - w.checked, 0)  # a lost case counted above
        if remaining == 0:
            w.done = True
            return None
        return self.task(w.index, w.incarnation + 1, remaining)

    def unshrunk(self, waiting_on: Callable[[tuple[int, int] | None], bool]) -> None:
        """Findings whose worker will not send Hypothesis' shrunk case: minimize the first one."""
        for finding in self.result.findings:
            if finding.worker is not None and waiting_on(finding.worker):
                finding.worker = None
                self.repros.add(finding, finding.case)

    # -- messages ------------------------------------------------------------------------

    def record(self, checked: Checked, w: _Shard) -> None:
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

    def keep(self, checked: Checked, w: _Shard, shrinks: bool) -> None:
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

    def said(self, task: Task, event: Any) -> None:
        w = self.shards[task.body.index]
        w.saving = isinstance(event, Checked) and event.signature is not None
        if isinstance(event, Started):
            w.case = event.case
        elif isinstance(event, Checked):
            w.case = None
            self.record(event, w)
        elif isinstance(event, Shrunk):
            finding = next((f for f in self.result.findings if f.signature == event.signature), None)
            if finding is not None and finding.worker is not None:
                finding.worker = None
                finding.shrunk = finding.case.with_name("shrunk.json")
                write_atomically(finding.shrunk, event.case + "\n")
                self.repros.add(finding, finding.shrunk)

    def done(self, task: Task) -> None:
        self.shards[task.body.index].done = True

    def saving(self, task: Task) -> bool:
        """Whether the worker's last case was a finding: at the end of the run it is given a
        few seconds to say anything more. Hypothesis writes a failing example to the database
        before it runs another, so its next message means the finding is in the database, not
        lost with the process (a Redis database is a network round trip away)."""
        return self.shards[task.body.index].saving

    def tick(self) -> bool:
        """Between messages: repros, progress, the summary every 10 s; whether the run is over."""
        self.repros.pump()
        self.result.seconds = time.monotonic() - self.start
        self.progress.update(self.result, self.shards.values())
        if time.monotonic() - self.last_summary > 10:
            self.write_summary()
            self.last_summary = time.monotonic()
        self.stopped = self.over()
        return bool(self.stopped)

    def over(self) -> str:
        if self.o.stop_at_first and self.result.findings:
            return "first finding"
        if self.o.stop_at_kill and any(f.signature.blames_pass for f in self.result.findings):
            return "first finding that blames the pass"
        if self.o.budget.seconds is not None and time.monotonic() - self.start >= self.o.budget.seconds:
            return "time budget"
        if self.tally is None:
            return "case budget" if all(w.done for w in self.shards.values()) else ""
        if self.result.cases >= self.tally.plan.cases or all(w.done for w in self.shards.values()):
            return "every structure checked"
        if self.o.budget.cases is not None and self.result.cases >= self.o.budget.cases:
            return "case budget"
        return ""

    # -- the run -------------------------------------------------------------------------

    def run(self) -> RunResult:
        (self.o.out / "logs").mkdir(parents=True, exist_ok=True)
        self.start = self.last_summary = time.monotonic()
        self.result.timeline.append((0.0, 0, 0))  # the timeline starts with the run
        supervisor = Supervisor(explorer, self.setup(), self.o.jobs, self.o.timeout, self.launcher, self.environment)
        tasks = [self.task(index, 0, self.quota(index)) for index in range(self.o.jobs)]
        try:
            supervisor.run(tasks, self.done, self.lost, self.said, self.tick, settle=self.saving)
            stopped = self.stopped or self.over()
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            self.launcher.close()
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
            for w in self.shards.values()
        ]
        write_atomically(self.o.out / "summary.json", json.dumps(self.result.to_json(), indent=2) + "\n")


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
