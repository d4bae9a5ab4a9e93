"""``fuzzpass bisect FINDING``: the release, or the commit, where a Helion finding appeared or
went away.

A step is one Helion: a release (installed into fuzzpass's cache, ``backends.helions``)
or a commit of a Helion checkout (a ``git worktree`` of its own, removed after: Helion is pure
Python, so nothing is built). Each step checks the finding's case in a fresh process
(``fuzzpass check --helion DIR --json``: two Helions cannot share one) and says:

- ``bad``: the finding's Helion failure is there (same kind, variant and stage; for a crash,
  the same message with its numbers blanked; for a ``helion-regression``, what regressed);
- ``good``: the check ran and that failure is not there;
- ``skip``, as ``git bisect skip``: that Helion cannot be imported, a different crash hides the
  answer, or the step ran past its time limit.

The search finds where the state at the newest step begins: ``bad`` there means it broke
(last good, first bad); ``good`` means it was fixed (last bad, first good). Skipped steps
between the two are named. Every step's result goes to ``OUT/bisect.log`` (JSON lines) as it
is known, and the answer to ``OUT/bisect.json``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fuzzpass.backends.helions import Helion, HelionError, resolve
from fuzzpass.judge.helion_baseline import same_failure
from fuzzpass.judge.signature import crash_words
from fuzzpass.judge.verdict import Kind, Regression

STEP_TIMEOUT = 900.0
"""Seconds one step may take (a first install, Helion's bind, interpret mode)."""


class BisectError(ValueError):
    """A bisection that cannot start: one line naming the option or file."""


@dataclass(frozen=True)
class Target:
    """The Helion failure a step looks for."""

    kind: str
    variant: str | None
    stage: str
    message: str

    @classmethod
    def of(cls, finding: dict[str, Any]) -> Target:
        """The failure ``finding`` (from a ``verdict.json``) names; for a ``helion-regression``,
        the one that regressed (its message: ``<kind>, right in A, wrong in B: <message>``)."""
        kind, message = finding["kind"], finding["message"]
        if kind == Kind.HELION_REGRESSION.value:
            regressed = Regression.parse(message)
            kind, message = regressed.kind, regressed.message
        return cls(kind, finding["variant"], finding["stage"], message)

    def found_in(self, report: dict[str, Any]) -> bool:
        return any(self.is_(f) for f in report.get("findings", []))

    def is_(self, f: dict[str, Any]) -> bool:
        """The same failure as a baseline comparison means it (``same_failure``), and for a
        crash the same message with its details blanked: another crash is not this one."""
        if not same_failure(f, asdict(self)):
            return False
        return self.kind != Kind.HELION_CRASH.value or crash_words(f["message"]) == crash_words(self.message)


def state_of(report: dict[str, Any] | None, target: Target) -> tuple[str, str]:
    """``(bad|good|skip, why)`` for one step's ``fuzzpass check --json`` report (None: it
    printed none)."""
    if report is None:
        return "skip", "the check printed no report"
    if target.found_in(report):
        return "bad", f"{target.kind} ({target.variant}) is there"
    if report.get("verdict") == "invalid" or not report.get("helion"):
        return "skip", report.get("error") or "Helion did not check the case"
    crashes = [f for f in report["findings"] if f["kind"] == "helion-crash"]
    if crashes and target.kind != "helion-crash":
        return "skip", f"a different crash hides it: {crashes[0]['message'][:120]}"
    if crashes and any(f["variant"] == target.variant for f in crashes):
        return "skip", f"a different crash: {crashes[0]['message'][:120]}"
    return "good", f"no {target.kind} ({target.variant}); verdict {report['verdict']}"


@dataclass
class Step:
    """One Helion of the range, and what checking the case there said."""

    name: str
    title: str = ""  # a commit's subject line
    state: str = ""
    why: str = ""
    seconds: float = 0.0
    helion: str = ""


@dataclass
class Bisection:
    """What a bisection found: the boundary and every step tried, in range order."""

    finding: str
    target: Target
    steps: list[Step]
    answer: str = ""
    boundary: tuple[str, str] | None = None
    skipped: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "finding": self.finding,
            "target": asdict(self.target),
            "answer": self.answer,
            "boundary": list(self.boundary) if self.boundary else None,
            "skipped": self.skipped,
            "steps": [asdict(s) for s in self.steps if s.state],
        }


def search(steps: list[Step], run: Callable[[Step], None]) -> tuple[int, int] | str:
    """The two neighbouring tried steps where the state changes, as indices, or why there is
    none (both ends alike, or no step judged). ``run`` fills a step's state; the ends first (an
    end that cannot be judged moves inward: the oldest releases may predate what the case
    needs), then halves, stepping around skipped steps as ``git bisect`` does."""
    hi = len(steps) - 1
    run(steps[hi])
    while steps[hi].state == "skip" and hi > 0:
        hi -= 1
        run(steps[hi])
    lo = 0
    while lo < hi:
        run(steps[lo])
        if steps[lo].state != "skip":
            break
        lo += 1
    first, last = steps[lo], steps[hi]
    if last.state == "skip" or lo == hi:
        return f"fewer than two steps from {steps[0].name} to {steps[-1].name} could be judged"
    if first.state == last.state:
        return f"{first.name} and {last.name} are both {last.state}: no change in the range"
    while hi - lo > 1:
        untried = [i for i in range(lo + 1, hi) if not steps[i].state]
        if not untried:
            break
        middle = (lo + hi) // 2
        index = min(untried, key=lambda i: (abs(i - middle), i))
        run(steps[index])
        if steps[index].state == "skip":
            continue
        if steps[index].state == last.state:
            hi = index
        else:
            lo = index
    return lo, hi


def bisect(
    finding: dict[str, Any],
    case: Path,
    steps: list[Step],
    helion_of: Callable[[Step], Any],
    out: Path,
    check: list[str],
) -> Bisection:
    """Bisect ``steps`` (oldest first) for ``finding``'s failure on ``case``. ``helion_of(step)``
    is a context manager giving the step's :class:`Helion`; ``check``: the options of
    ``fuzzpass check`` each step runs with."""
    target = Target.of(finding)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "bisect.log"
    log.write_text("")
    result = Bisection(str(case), target, steps)

    def run(step: Step) -> None:
        start = time.monotonic()
        try:
            with helion_of(step) as source:
                step.helion = source.label
                step.state, step.why = state_of(_check(case, source, check), target)
        except (HelionError, OSError, subprocess.SubprocessError) as e:
            step.state, step.why = "skip", str(e).splitlines()[0] if str(e) else type(e).__name__
        step.seconds = round(time.monotonic() - start, 1)
        with log.open("a") as f:
            f.write(json.dumps(asdict(step)) + "\n")
        said = f"  {step.name:<12} {step.state:<5} {step.seconds:>6.1f} s  {step.why}"
        print(said + (f"  ({step.title[:60]})" if step.title else ""), file=sys.stderr, flush=True)

    found = search(steps, run)
    if isinstance(found, str):
        result.answer = found
    else:
        lo, hi = steps[found[0]], steps[found[1]]
        result.boundary = (lo.name, hi.name)
        result.skipped = [s.name for s in steps[found[0] + 1 : found[1]] if s.state == "skip"]
        verb = "broke" if hi.state == "bad" else "was fixed"
        between = f"between {lo.name} ({lo.state}) and {hi.name} ({hi.state})"
        result.answer = f"{target.kind} ({target.variant}) {verb} {between}" + (f": {hi.title}" if hi.title else "")
        if result.skipped:
            result.answer += f", {len(result.skipped)} skipped steps between them"
    (out / "bisect.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    return result


def _check(case: Path, source: Helion, options: list[str]) -> dict[str, Any] | None:
    """``fuzzpass check CASE --json`` in a fresh process importing ``source``."""
    env = {**os.environ, **source.env()}
    command = [sys.executable, "-m", "fuzzpass", "check", str(case), "--backend", "helion", "--json", *options]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=STEP_TIMEOUT)
    try:
        return json.loads(done.stdout)
    except ValueError:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise OSError(f"check exited {done.returncode}: {last[:200]}") from None


# -- the two kinds of range ------------------------------------------------------------------


def releases(spec: str) -> list[Step]:
    """``A,B,C`` (in that order, oldest first) or ``A..B``: every release pip's index lists
    from A to B."""
    if ".." not in spec:
        return [Step(v.strip()) for v in spec.split(",") if v.strip()]
    old, new = spec.split("..", 1)
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "index", "versions", "helion"], capture_output=True, text=True
    ).stdout
    line = next((x for x in listed.splitlines() if x.startswith("Available versions:")), "")
    versions = [v.strip() for v in line.partition(":")[2].split(",") if v.strip()][::-1]
    if old not in versions or new not in versions:
        raise BisectError(f"--releases {spec}: pip's index lists {', '.join(versions) or 'no helion release'}")
    return [Step(v) for v in versions[versions.index(old) : versions.index(new) + 1]]


@contextmanager
def release(step: Step) -> Iterator[Helion]:
    yield resolve(step.name, "--releases")


def commits(repo: Path, good: str, bad: str) -> list[Step]:
    """``good``, then every first-parent commit after it up to ``bad``, as short hashes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
        if done.returncode != 0:
            raise BisectError(f"--helion-repo {repo}: git {' '.join(args)}: {done.stderr.strip()[:200]}")
        return done.stdout.strip()

    first = git("log", "-1", "--format=%h%x09%s", "--abbrev=10", f"{good}^{{commit}}")
    between = git("log", "--reverse", "--first-parent", "--format=%h%x09%s", "--abbrev=10", f"{good}..{bad}")
    return [Step(*line.split("\t", 1)) for line in [first, *between.splitlines()] if line]


def worktrees(repo: Path) -> Callable[[Step], Any]:
    """A step's Helion: its commit checked out in a worktree of its own, removed after."""

    @contextmanager
    def checkout(step: Step) -> Iterator[Helion]:
        where = Path(tempfile.mkdtemp(prefix=f"helion-{step.name}-"))
        shutil.rmtree(where)
        added = subprocess.run(
            ["git", "-C", str(repo), "worktree", "add", "--detach", str(where), step.name],
            capture_output=True,
            text=True,
        )
        if added.returncode != 0:
            raise OSError(f"git worktree add {step.name}: {added.stderr.strip()[:200]}")
        try:
            yield resolve(str(where), "--helion-repo")
        finally:
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(where)], capture_output=True)

    return checkout


def plan(
    finding: dict[str, Any], releases_spec: str | None, repo: Path | None, good: str | None, bad: str
) -> tuple[list[Step], Callable[[Step], Any]]:
    """The steps to search and how to get each one's Helion: ``repo``'s commits from ``good``
    to ``bad``, else the releases ``releases_spec`` names (default: the two a regression names)."""
    if repo is not None:
        if good is None:
            raise BisectError("--helion-repo: give --good REV, the oldest commit of the range")
        return commits(repo, good, bad), worktrees(repo)
    spec = releases_spec or regression_range(finding)
    if spec is None:
        raise BisectError("--releases: give the range (the finding names no two releases)")
    return releases(spec), release


def recorded(case: Path) -> dict[str, Any]:
    """The finding beside ``case`` (its ``verdict.json``): the first of its verdict's kind."""
    path = case.with_name("verdict.json")
    try:
        verdict = json.loads(path.read_text())
        return next(f for f in verdict["findings"] if f["kind"] == verdict["verdict"])
    except (OSError, ValueError, KeyError, StopIteration) as e:
        raise BisectError(f"{path}: not a finding's verdict.json ({type(e).__name__}: {e})") from None
    except TypeError:
        raise BisectError(f"{path}: not a finding's verdict.json") from None


def regression_range(finding: dict[str, Any]) -> str | None:
    """``A..B`` (oldest first) for a ``helion-regression`` between two releases, else None."""
    if finding["kind"] != Kind.HELION_REGRESSION.value:
        return None
    regressed = Regression.parse(finding["message"])
    versions = (regressed.right_in, regressed.wrong_in)
    if not all(re.fullmatch(r"\d+(\.\d+)+", v) for v in versions):
        return None
    return "..".join(sorted(versions, key=lambda v: tuple(int(x) for x in v.split("."))))
