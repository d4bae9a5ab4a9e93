"""Each new finding of a run, minimized and exported by itself, one at a time, beside the run.

The steps run as subprocesses (``fuzzpass minimize``, then ``fuzzpass export``) so that a hang
or crash while minimizing cannot stall the run's parent, and each has a hard time limit. What
they write lands in the finding's directory: ``minimized.json`` and ``repro.py``; their output
goes to ``logs/minimize-<finding>.log``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any


@dataclass
class _Job:
    finding: Any  # fuzzpass.fuzz.run.Finding
    source: Path
    stage: str = "minimize"
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    started: float = 0.0


class ReproQueue:
    def __init__(self, logs: Path, seconds: float) -> None:
        self.logs, self.seconds = logs, seconds
        self.waiting: deque[_Job] = deque()
        self.active: _Job | None = None
        self.on_done = lambda finding: None

    def add(self, finding: Any, source: Path) -> None:
        """Minimize ``source`` (the finding's case, or Hypothesis' shrunk one) and export it."""
        self.waiting.append(_Job(finding, source))

    @property
    def busy(self) -> bool:
        return self.active is not None or bool(self.waiting)

    def pump(self) -> None:
        """Advance: reap a finished step, start the next one."""
        job = self.active
        if job is not None and job.process is not None:
            code = job.process.poll()
            if code is None and time.monotonic() - job.started > self.seconds + 60:
                job.process.kill()
                code = job.process.wait()
            if code is None:
                return
            self._finish(job, code)
        if self.active is None and self.waiting:
            self._start(self.waiting.popleft(), "minimize")

    def drain(self, limit: float) -> None:
        """Finish the queue, giving up after ``limit`` seconds."""
        end = time.monotonic() + limit
        while self.busy and time.monotonic() < end:
            self.pump()
            time.sleep(0.2)
        if self.active is not None and self.active.process is not None:
            self.active.process.kill()
            self.active.process.wait()
            self.active = None

    def _start(self, job: _Job, stage: str) -> None:
        directory = job.finding.case.parent
        minimized = directory / "minimized.json"
        if stage == "minimize":
            args = ["minimize", str(job.source), "-o", str(minimized), "--seconds", f"{self.seconds:g}"]
        else:
            args = ["export", str(minimized), "-o", str(directory / "repro.py")]
        self.logs.mkdir(parents=True, exist_ok=True)
        job.log = open(self.logs / f"minimize-{directory.name}.log", "ab")  # noqa: SIM115 (closed in _finish)
        job.stage, job.started = stage, time.monotonic()
        job.process = subprocess.Popen(
            [sys.executable, "-m", "fuzzpass", *args], stdout=job.log, stderr=subprocess.STDOUT
        )
        self.active = job

    def _finish(self, job: _Job, code: int) -> None:
        assert job.log is not None
        job.log.close()
        self.active = None
        directory = job.finding.case.parent
        if job.stage == "minimize" and code == 0:
            job.finding.minimized = directory / "minimized.json"
            self._start(job, "export")
            return
        if job.stage == "export" and code == 0:
            job.finding.repro = directory / "repro.py"
        self.on_done(job.finding)
