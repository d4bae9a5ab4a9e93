"""What an exported regression test (``fuzzpass export --pytest``) asserts, in one place, so
that each exported file holds its case and two calls, not a copy of the logic."""

from __future__ import annotations

from fuzzpass.core.case import Case
from fuzzpass.judge.candidate import parse
from fuzzpass.judge.check import check_case
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.judge.signature import signature


def assert_holds(case: Case, poison: str) -> None:
    """The real pass gets ``case`` right: decisions, numerics, both variants."""
    result = check_case(case, backend="interpret", poison=poison)
    assert result.verdict.value == "pass", [f.message for f in result.findings]


def assert_still_caught(case: Case, poison: str, mutant: str, kind: str, rule: str) -> None:
    """The harness still catches ``mutant`` (a shipped mutant's name, or a candidate pass's
    ``FILE.py:NAME``) on ``case``, with the same verdict kind and rule."""
    broken = MUTANTS[mutant] if mutant in MUTANTS else parse(mutant).as_mutant()
    audited = kind in ("mismatch", "nonfinite-leak") and not rule.startswith("deferred")
    gate = () if audited else None  # the finding is a kernel of the gate audit's ("forced variant"): it runs
    result = check_case(case, backend="interpret", poison=poison, mutant=broken, gate=gate)
    found = signature(result.to_json(), case.spec)
    assert found is not None, f"{mutant} is no longer caught"
    assert (found.kind, found.rule) == (kind, rule)
