"""Exploration in one process: Hypothesis draws examples, each case is checked and reported.

``fuzzpass run`` runs one of these per worker process; tests run it in-process under a CI
profile. Hypothesis drives the search in *segments*: a segment is one ``@given`` run that
ends when a case shows a finding whose signature this explorer has not reported yet. Raising
on it is what makes Hypothesis save the example to the example database (``LastingExamples``); the next
segment starts with a new seed and knows that signature, so it only counts further cases of
it. A new run replays the database first (Hypothesis' reuse phase): it starts from what the
last one found.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import random
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import Flaky

from fuzzpass.core import profile
from fuzzpass.core.case import Case, parse_case
from fuzzpass.judge.checked import Checked, Config, check
from fuzzpass.judge.signature import Signature
from generators.examples import Example, examples, seeded
from generators.policies import POLICIES, swarm
from generators.structures import Structure, structure_of

RECENT = 512


class NewFinding(Exception):
    """Raised inside a segment so that Hypothesis saves the example and ends the segment."""


class ShrinkingOver(BaseException):
    """Raised when a segment's shrinking time is spent. Hypothesis stops at once on a
    ``BaseException``; a candidate that merely passed would have it try every candidate left,
    for up to five minutes (its own limit), while the worker checks nothing."""


def derive_seed(*parts: object) -> int:
    """A 64-bit seed from the run's seed and a worker's coordinates (stable across Pythons)."""
    return int.from_bytes(hashlib.sha256("/".join(map(str, parts)).encode()).digest()[:8], "big")


def swarm_of(seed: int, worker: int, incarnation: int) -> frozenset[str]:
    """The op kinds worker ``worker`` (its ``incarnation``-th process) leaves out under swarm
    testing: none for worker 0, which keeps every kind; for the others a subset drawn from the
    run's seed, so the same seed gives each worker the same generators."""
    return swarm(random.Random(derive_seed(seed, "swarm", worker, incarnation))) if worker > 0 else frozenset()


@dataclass
class Explorer:
    """Hypothesis segments over one policy and swarm subset, reporting every checked case."""

    config: Config
    disabled: frozenset[str]
    on_case: Callable[[Checked], None]
    on_start: Callable[[Case], None] = lambda case: None
    database: ExampleDatabase | None = None
    known: set[Signature] = field(default_factory=set)
    max_examples: int = 20
    """Examples per segment. Short segments restart Hypothesis from a fresh seed: a long one
    mutates its own earlier examples and draws the same few structures again and again."""
    recent: OrderedDict[str, Checked] = field(default_factory=OrderedDict)
    """Recently checked cases by file text: Hypothesis replays a failing example to report it
    and opens every segment with its simplest example; neither is checked or counted twice."""
    shrink_seconds: float = 0.0
    """How long Hypothesis may shrink the finding that ends a segment (0: not at all). The
    smallest failing case it reaches goes to ``on_shrunk``."""
    on_shrunk: Callable[[Signature, str], None] = lambda signature, case: None
    cases: int = 0
    since: float = field(default_factory=time.perf_counter)
    """When the last check ended: the time until the next one is Hypothesis' (``generate``)."""

    def digest(self) -> bytes:
        """What the example database is keyed by: examples replay only under the policy and swarm
        subset that drew them (the same choices draw another graph elsewhere)."""
        return f"fuzzpass/{self.config.policy}/{','.join(sorted(self.disabled))}".encode()

    @functools.cached_property
    def seeds(self) -> tuple[Structure, ...]:
        """The structures of the config's seed cases (each already parsed once by the run)."""
        return tuple(structure_of(parse_case(json.loads(text)).spec) for text in self.config.seeds)

    def segment(self, seed: int, from_seeds: bool = False) -> Signature | None:
        """One Hypothesis run of up to ``max_examples``; the new signature that ended it.
        ``from_seeds``: the examples mutate the database's seed structures (``generators.seeded``)."""
        pending: list[Signature] = []
        policy = POLICIES[self.config.policy]

        shrunk: list[str] = []  # each case that failed as the target did; the last is the smallest
        deadline = [float("inf")]

        def body(example: Example) -> None:
            digest = hashlib.sha1(repr(example).encode()).hexdigest()[:10]  # stable when Hypothesis replays it
            shrinking = bool(pending)
            for case in example.cases(f"{self.config.policy}-{digest}"):
                text = case.dumps()
                checked = self.recent.get(text)
                if checked is None:
                    if shrinking and time.monotonic() > deadline[0]:
                        raise ShrinkingOver
                    self.on_start(case)
                    profile.add("generate", time.perf_counter() - self.since)
                    checked = check(case, self.config, example.structure.expect)
                    checked.shrinking = shrinking
                    self.cases += not shrinking
                    self.on_case(checked)
                    self.since = time.perf_counter()
                    self.recent[text] = checked
                    if len(self.recent) > RECENT:
                        self.recent.popitem(last=False)
                found = checked.signature
                if found is not None and (found == pending[0] if shrinking else found not in self.known):
                    if not shrinking:  # while shrinking, only the first new finding counts
                        pending.append(found)
                        deadline[0] = time.monotonic() + self.shrink_seconds
                    shrunk.append(text)
                    raise NewFinding(str(found))

        # ``@seed`` turns the database off (Hypothesis' reproduce-a-failure idiom); the settings
        # applied after it turn the database back on: a segment replays it, then draws from its seed.
        tpu = self.config.compiles_for_tpu
        drawn = seeded(self.seeds, policy) if from_seeds else examples(policy, self.disabled, tpu)

        @st.composite
        def until_deadline(draw: st.DrawFn) -> Example:
            """``drawn``, but shrinking ends once its time is spent even where every candidate
            left is rejected before ``body`` sees it (``--policy helion``'s ``assume``): without
            this a run of Helion spent 880 of its 900 s shrinking one finding."""
            if pending and time.monotonic() > deadline[0]:
                raise ShrinkingOver
            return draw(drawn)

        test = hypothesis_seed(seed)(given(until_deadline())(body))
        test = settings(
            database=self.database,
            max_examples=self.max_examples,
            deadline=None,
            phases=(Phase.explicit, Phase.reuse, Phase.generate, Phase.target)
            + ((Phase.shrink,) if self.shrink_seconds > 0 else ()),
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            print_blob=False,
        )(test)
        digest = self.digest() + (b"/seeds" if from_seeds else b"")  # the same choices draw another example there
        test.hypothesis.inner_test._hypothesis_internal_add_digest = digest  # type: ignore[attr-defined]
        with contextlib.suppress(NewFinding, Flaky, ShrinkingOver):
            test()
        if pending and self.shrink_seconds > 0:
            self.on_shrunk(pending[0], shrunk[-1])
        return pending[0] if pending else None

    def explore(self, *coordinates: object) -> None:
        """Segments, each from a seed derived from ``coordinates`` and its number, until the
        parent stops this worker."""
        for number in itertools.count():
            from_seeds = bool(self.config.seeds) and number % 2 == 1
            found = self.segment(derive_seed(self.config.seed, *coordinates, number), from_seeds)
            if found is not None:
                self.known.add(found)
