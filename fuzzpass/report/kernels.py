"""A finding's two kernels side by side: the eager variant (the pass off) and the deferred one
(the pass on, or the mutant that was fuzzed), built from its smallest case, with the lines the
pass changed marked. This is what a bug report about the pass quotes."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from fuzzpass.core.case import load_case
from fuzzpass.judge.candidate import Candidate, under_test
from fuzzpass.judge.mutants import MUTANTS
from reference.compile import compile_variant


@dataclass(frozen=True)
class Row:
    """One line of the side-by-side view: the eager line, the deferred line (None: no line on
    that side) and whether the pass changed it."""

    eager: str | None
    deferred: str | None
    changed: bool


def side_by_side(case_file: Path, mutant: str | None, candidate: Candidate | None = None) -> list[Row]:
    """The kernels of ``case_file`` aligned line by line (difflib), changed lines marked.
    Raises what loading or compiling the case raises; the caller says so on the page."""
    case = load_case(case_file)
    title = case.name  # the same title on both sides: only what the pass changed differs
    eager = compile_variant(case.spec, "off", title=title).source.text.splitlines()
    broken = under_test(mutant if mutant in MUTANTS else None, candidate)
    if broken is not None:
        deferred = broken.compile(case.spec, title).source.text.splitlines()
    else:
        deferred = compile_variant(case.spec, title=title).source.text.splitlines()
    rows = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=eager, b=deferred, autojunk=False).get_opcodes():
        if op == "equal":
            rows += [Row(a, b, changed=False) for a, b in zip(eager[i1:i2], deferred[j1:j2], strict=True)]
            continue
        left, right = eager[i1:i2], deferred[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(Row(left[k] if k < len(left) else None, right[k] if k < len(right) else None, changed=True))
    return rows
