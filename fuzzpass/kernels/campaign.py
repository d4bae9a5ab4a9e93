"""``fuzzpass corpus PATH...``: record every file's kernel calls, then judge each call alone.

Two phases, each on the workers of :class:`~fuzzpass.core.supervisor.Supervisor`: local
processes, or Ray actors with ``ray`` (``--ray [ADDRESS]``; every node then needs the kernel
files and OUT at the same paths, a shared filesystem, as a local cluster has):

1. **Record.** Files go one at a time to ``--jobs`` recording workers (:mod:`.record_worker`),
   which run the file's own tests and write each kernel call to ``OUT/calls`` (:mod:`.calls`).
   A worker that dies or goes silent past ``--timeout`` is replaced and the file run again
   without the entry it was in (listed as lost); after :data:`MAX_RESTARTS` the file is given
   up with what it had recorded. A file recorded by an earlier run under the same OUT and
   seed is not run again.
2. **Judge.** Every recorded call not judged yet goes to a judging worker
   (:mod:`.judge_worker`), one call at a time. A call that runs past ``--timeout`` (a long
   XLA compile, a kernel that hangs in the interpreter) has its worker killed and is skipped
   with that reason, a limit of the harness: it costs that call, never the file's other
   calls or a rerun of its tests. A second run judges only what is not judged yet (and a
   call killed by a timeout again when given a longer one).

The summary is made from what is on disk, so it holds every run's results under OUT.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fuzzpass.core.files import write_atomically
from fuzzpass.core.supervisor import Launcher, Lost, Supervisor
from fuzzpass.core.workers.messages import Task
from fuzzpass.core.workers.processes import ProcessLauncher
from fuzzpass.core.workers.serve import memory_budget
from fuzzpass.judge.signature import Signature, blank_numbers
from fuzzpass.kernels import calls
from fuzzpass.kernels.collect import kernel_files
from fuzzpass.kernels.judge_worker import JudgeCall, Judger, judger
from fuzzpass.kernels.record import MAX_CALLS
from fuzzpass.kernels.record_worker import Limits, RecordFile, Recording, recorder

MAX_RESTARTS = 16
"""Restarts of one file before it is given up: each one runs only the entries not run yet,
leaving out the one its worker died in."""
STAGES = ("entries", "bind", "run", "compile")
"""Where a corpus run's time goes: running the files' own tests, Helion's binds, interpret-mode
runs, deviceless TPU compiles."""


@dataclass(frozen=True)
class CorpusOptions:
    paths: tuple[str, ...]
    out: Path
    jobs: int = 1
    generations: tuple[str, ...] = ("v5e", "v6e", "tpu7x")
    gate: tuple[str, ...] | None = ("v5e", "v6e", "tpu7x")  # judged generations; None: no gate audit
    timeout: float = 300.0
    examples: str | None = None  # the example database expressible cases are added to as seeds (default OUT/examples)
    only: tuple[str, ...] = ()  # judge only kernels of these names
    seed: int = 0  # torch, numpy and random are seeded with it before every entry: a file's inputs, same bytes
    ray: str | None = None  # workers as Ray actors: a cluster's address, "local" for a local one; None: processes


@dataclass
class _Recording:
    """One shard of one file's recording across the workers it took: the events its workers
    said (calls on disk among them), entries not to run again (run, or the one a worker died
    in), and what restarts cost. A test file's entries are split into one shard per worker
    (entry numbers ``shard[0]`` modulo ``shard[1]``), so one long test file keeps every
    worker busy."""

    file: str
    shard: tuple[int, int] = (0, 1)
    events: list[dict[str, Any]] = field(default_factory=list)
    skip: set[int] = field(default_factory=set)
    restarts: int = 0
    finished: bool = False
    where: dict[str, Any] = field(default_factory=dict)  # its present worker's last ``where``: what it is inside
    retiring: bool = False  # its present worker said it retires: a fresh one runs the rest

    @property
    def key(self) -> str:
        return f"{self.file}#{self.shard[0]}"

    def task(self) -> Task:
        """What is left of the shard, for a fresh worker (which has said nothing yet)."""
        self.where, self.retiring = {}, False
        return Task(self.key, RecordFile(self.file, tuple(sorted(self.skip)), self.shard))

    def heard(self, events: Iterable[dict[str, Any]]) -> None:
        for e in events:
            kind = e.get("event")
            if kind == "where":
                self.where = e
            elif kind == "retire":
                self.retiring = True
            elif kind == "ran":
                self.skip.add(e["number"])
            said_before = kind == "file" and any(x.get("event") == "file" for x in self.events)
            if kind not in ("where", "retire") and not said_before:  # a later worker's import said again
                self.events.append(e)


def file_record(file: str, shards: list[_Recording]) -> tuple[list[dict[str, Any]], list[str]]:
    """A file's shards as one record, and its calls (at most ``MAX_CALLS`` a kernel): the
    entries' outcomes and seconds summed into one ``entries`` event; a kernel skipped once
    per shard said once, and not at all where another shard recorded a call of it."""
    events = [e for shard in shards for e in shard.events]
    called: dict[str, list[str]] = {}
    for e in events:
        if e.get("event") == "call" and len(called.setdefault(e["kernel"], [])) < MAX_CALLS:
            called[e["kernel"]].append(e["folder"])
    ran = [e for e in events if e.get("event") == "ran"]
    entries = {
        "event": "entries",
        "file": file,
        "outcomes": dict(Counter(e["outcome"] for e in ran)),
        "seconds": {"entries": sum(e["seconds"] for e in ran)},
    }
    skipped: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.get("event") == "kernel" and e["kernel"] not in called:
            seen = skipped.get(e["kernel"])
            if seen is None or seen["reason"] == "no entry of its file calls it":
                skipped[e["kernel"]] = e
    files = [e for e in events if e.get("event") == "file"][:1]
    rest = [e for e in events if e.get("event") not in ("ran", "call", "kernel", "file")]
    return [*files, *rest, entries, *skipped.values()], [f for folders in called.values() for f in folders]


def shards_of(path: Path, jobs: int) -> int:
    """A test file's entries go to every worker; a script's one ``main`` to one."""
    return jobs if path.name.startswith("test_") else 1


def worker_limit(timeout: float) -> float:
    """What a recording worker allows one entry: inside ``--timeout`` with room to report it,
    so only an entry stuck in C code costs a restart."""
    return max(timeout * 0.8, timeout - 30.0, 1.0)


def record_files(options: CorpusOptions, files: list[Path], launcher: Launcher, say: Callable[[str], None]) -> None:
    """Phase 1: every file not recorded yet under OUT with this seed, recorded."""
    todo = [f for f in files if calls.recorded(options.out, str(f), options.seed) is None]
    if len(todo) < len(files):
        say(f"fuzzpass corpus: {len(files) - len(todo)} files recorded by an earlier run under {options.out}")
    if not todo:
        return
    shards = {
        str(f): [_Recording(str(f), (i, n)) for i in range(n)] for f in todo for n in [shards_of(f, options.jobs)]
    }
    by_key = {state.key: state for states in shards.values() for state in states}
    limits = Limits(worker_limit(options.timeout), memory_budget(options.jobs))
    setup = Recording(options.out, options.seed, limits)

    def finish(state: _Recording) -> None:
        state.finished = True
        if not all(s.finished for s in shards[state.file]):
            return
        events, folders = file_record(state.file, shards[state.file])
        calls.write_recorded(options.out, state.file, events, folders, options.seed)
        fired = f", {len(folders)} calls recorded" if folders else ""
        say(f"  recorded {Path(state.file).name}{fired}")

    def done(task: Task) -> Task | None:
        state = by_key[task.key]
        if state.retiring:  # a fresh worker runs the rest
            return state.task()
        finish(state)
        return None

    def lost(loss: Lost) -> Task | None:
        state = by_key[loss.task.key]
        where = state.where
        entry = where.get("entry", "importing the file")
        state.events.append({"event": "lost", "file": state.file, "entry": entry, "reason": loss.why})
        state.restarts += 1
        if "number" in where and state.restarts <= MAX_RESTARTS:
            state.skip.add(where["number"])
            return state.task()
        why = f"given up after {state.restarts} restarts: what its last worker had not recorded is missing"
        state.events.append({"event": "lost", "file": state.file, "entry": "the file", "reason": why})
        finish(state)
        return None

    def said(task: Task, event: dict[str, Any]) -> None:
        by_key[task.key].heard([event])

    supervisor = Supervisor(recorder, setup, options.jobs, options.timeout, launcher)
    supervisor.run([state.task() for state in by_key.values()], done, lost, said)


def judge_calls(
    options: CorpusOptions, stored: list[calls.Stored], launcher: Launcher, say: Callable[[str], None]
) -> None:
    """Phase 2: every recorded call without a current verdict, judged in a worker of its own
    time (see the module)."""
    todo = [s for s in stored if _needs_judging(s, options)]
    if len(todo) < len(stored):
        say(f"fuzzpass corpus: {len(stored) - len(todo)} calls judged by an earlier run under {options.out}")
    if not todo:
        return
    say(f"fuzzpass corpus: judging {len(todo)} calls, each within {options.timeout:.0f} s")
    setup = Judger(
        calls.Settings(options.generations, options.gate), options.out / "cache", memory_budget(options.jobs)
    )
    by_key = {str(s.folder): s for s in todo}
    status: dict[str, str] = {}

    def said(task: Task, event: dict[str, Any]) -> None:
        if event.get("event") == "judged":
            status[task.key] = event.get("status", "?")

    def done(task: Task) -> None:
        say(f"  judged {by_key[task.key].kernel} ({Path(by_key[task.key].file).name}): {status.get(task.key, '?')}")

    def lost(loss: Lost) -> None:
        s = by_key[loss.task.key]
        reason = f"{loss.why} while judged (killed): a limit of the harness, not a result"
        event = {"event": "kernel", "file": s.file, "kernel": s.kernel, "status": "skipped", "reason": reason}
        calls.write_judged(s, {**event, "killed_after": options.timeout, "judged_with": judged_with(options)})
        say(f"  judged {s.kernel} ({Path(s.file).name}): {reason}")

    tasks = [Task(str(s.folder), JudgeCall(str(s.folder), s.file, s.kernel)) for s in todo]
    Supervisor(judger, setup, options.jobs, options.timeout, launcher).run(tasks, done, lost, said)


def launcher_for(options: CorpusOptions) -> Launcher:
    """Where the workers run: local processes (their output to ``OUT/workers.log``), or Ray
    actors, one CPU each, on the cluster ``options.ray`` names."""
    if options.ray is None:
        return ProcessLauncher(lambda slot: options.out / "workers.log")
    from fuzzpass.core.workers.actors import RayLauncher

    return RayLauncher(options.ray, {"num_cpus": 1})


def judged_with(options: CorpusOptions) -> dict[str, Any]:
    return calls.Settings(options.generations, options.gate).to_json()


def _needs_judging(stored: calls.Stored, options: CorpusOptions) -> bool:
    """No verdict yet, one judged with other generations, or one a shorter timeout killed."""
    if options.only and stored.kernel not in options.only:
        return False
    event = calls.read_json(stored.judged)
    if event is None or event.get("judged_with") != judged_with(options):
        return True
    return "killed_after" in event and options.timeout > event["killed_after"]


def run_corpus(options: CorpusOptions, say: Callable[[str], None]) -> dict[str, Any]:
    """Record and judge every kernel of ``options.paths``; the ``corpus`` part of
    ``summary.json``, with ``events`` (every kernel's event) for the caller to write."""
    files = kernel_files(list(options.paths))
    start = time.monotonic()
    options.out.mkdir(parents=True, exist_ok=True)
    say(f"fuzzpass corpus: seed {options.seed} (rerun with --seed {options.seed})")
    say(f"fuzzpass corpus: {len(files)} files, {options.jobs} workers")
    launcher = launcher_for(options)
    try:
        record_files(options, files, launcher, say)
        records = [r for f in files if (r := calls.recorded(options.out, str(f), options.seed)) is not None]
        stored = [s for r in records for s in calls.stored_calls(options.out, r)]
        judge_calls(options, stored, launcher, say)
    finally:
        launcher.close()
    events = gathered(options, records, stored)
    return summarize(options, files, events, time.monotonic() - start)


def gathered(options: CorpusOptions, records: list[dict[str, Any]], stored: list[calls.Stored]) -> list[dict[str, Any]]:
    """Every event on disk for these files: their records' and their calls' verdicts (a call
    with none is skipped as not judged, which only ``--only`` leaves)."""
    events = [e for r in records for e in r["events"]]
    for s in stored:
        if options.only and s.kernel not in options.only:
            continue
        judged = calls.read_json(s.judged)
        if judged is None:
            judged = {"event": "kernel", "file": s.file, "kernel": s.kernel, "status": "skipped"}
            judged["reason"] = "not judged: its judge left no verdict"
        events.append(judged)
    if options.only:
        events = [e for e in events if e.get("event") != "kernel" or e.get("kernel") in options.only]
    return events


def summarize(
    options: CorpusOptions, files: list[Path], events: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """The counts the issue asks for (see ``docs/corpus.md``), from every event."""
    kernels = [e for e in events if e.get("event") == "kernel"]
    checked = [e for e in kernels if e.get("status") == "checked"]
    fired = [e for e in checked if e.get("fired")]
    found = {(e["file"], e["kernel"]) for e in kernels}
    bound = {(e["file"], e["kernel"]) for e in checked}
    skipped = Counter(
        e["reason"] for e in kernels if e.get("status") == "skipped" and (e["file"], e["kernel"]) not in bound
    )
    entries: Counter[str] = Counter()
    for e in events:
        if e.get("event") == "entries":
            entries.update(e["outcomes"])
    compile_counts = {gen: dict(Counter(compiled_on(e, gen) for e in fired)) for gen in options.generations}
    gated = [e for e in fired if e.get("gate")]
    agrees = {gen: sum(1 for e in gated if gate_agrees(e["gate"], gen)) for gen in options.gate or ()}
    not_audited = {gen: sum(1 for e in gated if gate_agrees(e["gate"], gen) is None) for gen in options.gate or ()}
    numerics = Counter(e.get("numerics_result", "-") for e in fired)
    cases = [e for e in fired if e.get("case")]
    share_seconds = Counter()
    for e in events:
        share_seconds.update({k: v for k, v in e.get("seconds", {}).items() if k in STAGES})
    total = sum(share_seconds.values()) or 1.0
    return {
        "paths": list(options.paths),
        "seed": options.seed,
        "files": len(files),
        "files_skipped": dict(Counter(e["skipped"] for e in events if e.get("event") == "file" and "skipped" in e)),
        "entries": dict(entries),
        "entries_lost": [
            f"{Path(e['file']).name}: {e['entry']}: {e['reason']}" for e in events if e.get("event") == "lost"
        ],
        "kernels": {
            "found": len(found),
            "bound": len(bound),
            "skipped": dict(skipped),
            "calls": len(checked),
            "fired": len(fired),
            "numerics_agree": numerics["agree"],
            "numerics_differ": numerics["differ"],
            "numerics_not_run": {k: n for k, n in numerics.items() if k.startswith("not run")},
            "compile": compile_counts,
            "gate": {"audited": len(gated), "agrees": agrees, "not_audited": not_audited},
            "expressible": sum(1 for e in cases if "text" in e["case"]),
            "not_expressible": dict(Counter(e["case"]["reason"] for e in cases if "reason" in e["case"])),
        },
        "seconds": round(seconds, 1),
        "kernels_per_second": round(len(found) / seconds, 3) if seconds else None,
        "share": {k: round(share_seconds[k] / total, 3) for k in STAGES},
        "events": events,
    }


def compiled_on(event: dict[str, Any], gen: str) -> str:
    """One call's kernels on ``gen``: ``compiled`` (all of them), ``rejected`` (the compiler
    refused one), ``not run`` (one was not built here, or no compile was asked)."""
    per_mode = event.get("compiles", {}).get(gen) or {}
    oks = [v.get("ok") for v in per_mode.values()]
    if oks and all(ok is True for ok in oks):
        return "compiled"
    if any(ok is False for ok in oks):
        return "rejected"
    return "not run"


def gate_agrees(gate: dict[str, Any], gen: str) -> bool | None:
    """Whether deferring was no costlier on ``gen``; None where a kernel has no schedule there."""
    from fuzzpass.judge.gate import agrees

    if gen not in gate.get("counts", {}):
        return None
    return agrees(gate, gen)


def signature_of(event: dict[str, Any], finding: dict[str, Any]) -> Signature:
    """A real kernel's finding: its kind, its variant and message without numbers, the kernel."""
    rule = f"{finding.get('variant') or 'both'}: {blank_numbers(finding['message'])[:120]}"
    return Signature(finding["kind"], rule, event["kernel"])


REPRO = """#!/bin/sh
# Judges this kernel call again (call.pkl, data.pt: the kernel, config, arguments, reference)
# without running its file's tests. Exit 1 while the finding reproduces, 0 once it does not.
exec python -m fuzzpass.kernels.rejudge "$(dirname "$0")" "$@"
"""


def write_findings(out: Path, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One directory per finding signature under ``OUT/findings``: the kernel's event, its two
    Pallas sources and their diff, the case it became (``fuzzpass check case.json --backend
    helion`` and ``fuzzpass minimize`` take it from there) and the command that reruns it."""
    listed: dict[str, dict[str, Any]] = {}
    for event in events:
        for finding in event.get("findings", []):
            if finding["kind"] == "helion-tpu-unsupported":
                continue
            sig = signature_of(event, finding)
            if sig.slug in listed:
                continue
            folder = out / "findings" / sig.slug
            folder.mkdir(parents=True, exist_ok=True)
            write_atomically(folder / "kernel.json", json.dumps(event, indent=2, default=str))
            for mode, text in event.get("sources", {}).items():
                write_atomically(folder / f"pallas-{mode}.py", text)
            if event.get("diff"):
                write_atomically(folder / "pass.diff", event["diff"])
            if "text" in (event.get("case") or {}):
                write_atomically(folder / "case.json", event["case"]["text"])
            for name in calls.FILES if event.get("call") else ():
                write_atomically(folder / name, (Path(event["call"]) / name).read_bytes())
            write_atomically(folder / "repro.sh", REPRO)
            (folder / "repro.sh").chmod(0o755)
            listed[sig.slug] = {
                "signature": str(sig),
                "kind": finding["kind"],
                "kernel": event["kernel"],
                "file": event["file"],
                "message": finding["message"],
                "directory": f"findings/{sig.slug}",
            }
    return list(listed.values())
