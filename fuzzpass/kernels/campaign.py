"""``fuzzpass corpus PATH...``: every kernel file through worker processes, into one summary.

Files go one at a time to ``--jobs`` workers (:mod:`.worker`). A worker's events for a file are
kept only when the file is done, so a worker that dies (a segfault in a kernel) or goes silent
past ``--timeout`` is replaced and the file run again without the entry or kernel it was in,
which is reported as skipped with what happened; after :data:`MAX_RESTARTS` the file is given
up with that reason. Nothing a file did can end the run or lose what other files showed.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fuzzpass.core.files import write_atomically
from fuzzpass.judge.signature import Signature, blank_numbers
from fuzzpass.kernels.collect import kernel_files

MAX_RESTARTS = 8
"""Restarts of one file before it is given up: each one leaves out the entry or kernel that cost it."""
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
    corpus: str | None = None  # where expressible cases are added as seeds (default OUT/corpus)
    only: tuple[str, ...] = ()  # judge only kernels of these names
    seed: int = 0  # torch, numpy and random are seeded with it before every entry: a file's inputs, same bytes


@dataclass
class _Job:
    file: str
    skip_entries: set[int] = field(default_factory=set)
    skip_kernels: set[str] = field(default_factory=set)
    lost: list[dict[str, Any]] = field(default_factory=list)  # what restarts cost, as skipped kernels
    restarts: int = 0

    def line(self) -> str:
        return f"{self.file}\t{','.join(map(str, sorted(self.skip_entries)))}\t{','.join(sorted(self.skip_kernels))}\n"


@dataclass
class _Worker:
    proc: subprocess.Popen[str]
    job: _Job | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    where: dict[str, Any] = field(default_factory=dict)  # the entry or kernel it is in
    heard: float = field(default_factory=time.monotonic)
    partial: bytes = b""  # the start of a line not yet ended


def start_worker(options: CorpusOptions, log: IO[str]) -> _Worker:
    command = [sys.executable, "-m", "fuzzpass.kernels.worker", "--tpu", ",".join(options.generations)]
    command += ["--seed", str(options.seed), "--cache", str(options.out / "cache")]
    command += ["--limit", str(worker_limit(options.timeout))]
    if options.gate is not None:
        command += ["--gate", ",".join(options.gate)]
    if options.only:
        command += ["--only", ",".join(options.only)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    return _Worker(proc)


def worker_limit(timeout: float) -> float:
    """What the worker allows one entry or kernel call itself: inside ``--timeout`` with room
    to report it, so only a call stuck in C code costs a restart."""
    return max(timeout * 0.8, timeout - 30.0, 1.0)


def read_lines(worker: _Worker) -> list[str] | None:
    """The whole lines a worker has written since the last call (None: it closed its end).
    Read from the file descriptor, not the buffered pipe: lines a buffer held would be
    invisible to ``select`` and wait for the worker's next line."""
    assert worker.proc.stdout is not None
    chunk = os.read(worker.proc.stdout.fileno(), 1 << 16)
    if not chunk:
        return None
    worker.partial += chunk
    *lines, worker.partial = worker.partial.split(b"\n")
    return [line.decode() for line in lines]


def run_corpus(options: CorpusOptions, say: Callable[[str], None]) -> dict[str, Any]:
    """Check every kernel of ``options.paths``; the ``corpus`` part of ``summary.json``, with
    ``events`` (every kernel's event) for the caller to write."""
    files = kernel_files(list(options.paths))
    start = time.monotonic()
    pending = [_Job(str(f)) for f in files]
    options.out.mkdir(parents=True, exist_ok=True)
    log = (options.out / "workers.log").open("a")
    done: list[dict[str, Any]] = []
    workers: list[_Worker] = []
    selector = selectors.DefaultSelector()
    say(f"fuzzpass corpus: seed {options.seed} (rerun with --seed {options.seed})")
    say(f"fuzzpass corpus: {len(files)} files, {options.jobs} workers")

    def give(worker: _Worker) -> None:
        if not pending:
            return
        worker.job, worker.events, worker.where = pending.pop(0), [], {}
        worker.heard = time.monotonic()
        assert worker.proc.stdin is not None
        worker.proc.stdin.write(worker.job.line())
        worker.proc.stdin.flush()

    def replace(worker: _Worker, what: str) -> None:
        """``worker`` died or hung: the file again without what it was in, or given up."""
        selector.unregister(worker.proc.stdout)
        worker.proc.kill()
        worker.proc.wait()
        workers.remove(worker)
        job = worker.job
        if job is not None:
            where = worker.where
            if "kernel" in where:  # judging it: the kernel is skipped, with what happened
                reason = f"{what} while judged"
                job.lost.append({**_lost(job, where), "event": "kernel", "status": "skipped", "reason": reason})
                job.skip_kernels.add(where["kernel"])
            else:  # in an entry or importing: the entry is lost, the file's other kernels are not
                job.lost.append({**_lost(job, where), "event": "lost", "reason": what})
                if "number" in where:
                    job.skip_entries.add(where["number"])
            job.restarts += 1
            if job.restarts > MAX_RESTARTS or not where:
                why = f"given up after {job.restarts} restarts: what its last worker had not judged is missing"
                job.lost.append({**_lost(job, {"entry": "the file"}), "event": "lost", "reason": why})
                finish(job, worker.events)
            else:
                pending.insert(0, job)
        add_worker()

    def finish(job: _Job, events: list[dict[str, Any]]) -> None:
        done.extend(events + job.lost)
        kernels = [e for e in events if e.get("event") == "kernel"]
        fired = sum(1 for e in kernels if e.get("fired"))
        say(f"  {Path(job.file).name}: {len(kernels)} kernel calls, {fired} where the pass fired")

    def add_worker() -> None:
        if not pending or len(workers) >= options.jobs:
            return
        worker = start_worker(options, log)
        workers.append(worker)
        selector.register(worker.proc.stdout, selectors.EVENT_READ, worker)
        give(worker)

    def heard(worker: _Worker, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind in ("entry", "judging"):
            worker.where = event
        elif kind == "done":
            assert worker.job is not None
            finish(worker.job, worker.events)
            worker.job = None
            if pending:
                give(worker)
            else:
                selector.unregister(worker.proc.stdout)
                worker.proc.stdin.close()  # type: ignore[union-attr]
                worker.proc.wait()
                workers.remove(worker)
        else:
            worker.events.append(event)

    for _ in range(min(options.jobs, len(pending))):
        add_worker()
    while workers:
        for key, _ in selector.select(timeout=1.0):
            worker = key.data
            lines = read_lines(worker)
            if lines is None:
                replace(worker, f"the worker died (exit {worker.proc.wait()})")
                continue
            worker.heard = time.monotonic()
            for line in lines:
                heard(worker, json.loads(line))
        for worker in list(workers):
            if worker.job is not None and time.monotonic() - worker.heard > options.timeout:
                replace(worker, f"no answer in {options.timeout:.0f} s")
    log.close()
    return summarize(options, files, done, time.monotonic() - start)


def _lost(job: _Job, where: dict[str, Any]) -> dict[str, Any]:
    return {"file": job.file, "kernel": where.get("kernel"), "entry": where.get("entry", "importing the file")}


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
    compile_counts = {
        gen: {
            "compiled": sum(
                1 for e in checked if all(v["ok"] for v in e["compiles"].get(gen, {}).values()) and gen in e["compiles"]
            ),
            "rejected": sum(1 for e in checked if any(not v["ok"] for v in e["compiles"].get(gen, {}).values())),
        }
        for gen in options.generations
    }
    gated = [e for e in fired if e.get("gate")]
    agrees = {gen: sum(1 for e in gated if _gate_agrees(e["gate"], gen)) for gen in options.gate or ()}
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
            "numerics_agree": sum(1 for e in fired if not _numerics_wrong(e)),
            "numerics_differ": sum(1 for e in fired if _numerics_wrong(e)),
            "compile": compile_counts,
            "gate": {"audited": len(gated), "agrees": agrees},
            "expressible": sum(1 for e in cases if "text" in e["case"]),
            "not_expressible": dict(Counter(e["case"]["reason"] for e in cases if "reason" in e["case"])),
        },
        "seconds": round(seconds, 1),
        "kernels_per_second": round(len(found) / seconds, 3) if seconds else None,
        "share": {k: round(share_seconds[k] / total, 3) for k in STAGES},
        "events": events,
    }


def _numerics_wrong(event: dict[str, Any]) -> bool:
    return any(f["kind"] in ("helion-mismatch", "helion-crash") for f in event.get("findings", []))


def _gate_agrees(gate: dict[str, Any], gen: str) -> bool:
    from fuzzpass.judge.gate import agrees

    return agrees(gate, gen) is not False


def signature_of(event: dict[str, Any], finding: dict[str, Any]) -> Signature:
    """A real kernel's finding: its kind, its variant and message without numbers, the kernel."""
    rule = f"{finding.get('variant') or 'both'}: {blank_numbers(finding['message'])[:120]}"
    return Signature(finding["kind"], rule, event["kernel"])


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
            rerun = f"fuzzpass corpus {event['file']} --only {event['kernel']} --out rerun-{sig.slug}\n"
            write_atomically(
                folder / "repro.sh", "#!/bin/sh\n# reruns the kernel's file and judges this kernel\n" + rerun
            )
            listed[sig.slug] = {
                "signature": str(sig),
                "kind": finding["kind"],
                "kernel": event["kernel"],
                "file": event["file"],
                "message": finding["message"],
                "directory": f"findings/{sig.slug}",
            }
    return list(listed.values())
