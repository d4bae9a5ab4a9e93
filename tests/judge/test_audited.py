"""Every kernel the gate audit compiles is itself checked: the forced variant and each gate's
choice run in interpret mode on the case's data and are judged as the deferred variant is, so
a schedule the audit compares is never a wrong kernel's (``judge/check.py``'s
``check_audited``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import tpu_aot
from fuzzpass.core.case import Case
from fuzzpass.core.data import draw
from fuzzpass.judge.check import check_case, check_variants
from fuzzpass.judge.mutants import MUTANTS, off_by_one
from fuzzpass.judge.signature import signature
from reference.compile import compile_variant
from reference.spec import KernelSpec
from tests.specs import node, reverse_direction, spec

needs_libtpu = pytest.mark.skipif(tpu_aot.unavailable() is not None, reason="needs libtpu (the tpu extra)")


def reverse_sum() -> KernelSpec:
    """The reverse move in float32: the pass keeps the mask, forcing defers it, so the forced
    kernel is one only the audit builds."""
    return reverse_direction("float32")


def audited(mutant: str | None = None, poison: str = "finite") -> object:
    case = Case("reverse-sum", 3, reverse_sum(), None)
    return check_case(case, backend="interpret", poison=poison, gate=(), mutant=MUTANTS[mutant] if mutant else None)


@needs_libtpu
def test_the_audit_runs_the_forced_kernel_only_it_builds_and_the_real_one_is_right() -> None:
    result = audited()
    assert result.gate is not None and result.gate.choice == "keep"
    assert "forced" in result.gate.kernels  # a kernel neither eager nor deferred
    assert set(result.audited) == set(result.gate.kernels)  # each of them was run
    assert result.audited["forced"].out_of_tolerance == 0 and not result.audited["forced"].nonfinite
    assert result.verdict.value == "pass"
    assert "audited" in result.to_json() and "forced" in result.to_json()["audited"]


@needs_libtpu
def test_a_wrong_forced_kernel_is_a_finding_that_names_it_and_blames_the_pass() -> None:
    result = audited("forced-drops-remask")
    assert result.variants["deferred"].deferred() == {"x": []}  # the pass as it decides is untouched
    assert not [f for f in result.findings if f.variant == "deferred"]
    found = [f for f in result.findings if f.variant == "forced"]
    assert found and found[0].kind.value == "mismatch", [f.message for f in result.findings]
    sig = signature(result.to_json(), reverse_sum())
    assert sig is not None and str(sig) == "mismatch | forced variant | permute>sum" and sig.blames_pass
    plain = check_case(Case("reverse-sum", 3, reverse_sum(), None), backend="interpret", poison="finite",
                       mutant=MUTANTS["forced-drops-remask"])  # fmt: skip
    assert plain.verdict.value == "pass"  # without the audit, nobody looks at the forced kernel


def test_check_variants_judges_any_named_kernel_against_the_truth_and_the_eager_one() -> None:
    """The helper the audit and the dense-KV benchmarks share: a kernel whose discharging
    mask is off by one is a mismatch under its own name; the right one passes."""
    s = spec({"q": ("t0", 4, 128)}, node("load", "x", src="q"), node("permute", "xt", arg="x", dims=[1, 0, 2]),
             node("sum", "r", arg="xt", axis=1), node("store", arg="r", dst="out"), dtype="float32")  # fmt: skip
    case = Case("major-sum", 5, s, None)
    eager, right = compile_variant(s, "off"), compile_variant(s, "force")
    comparisons, found = check_variants(case, draw(case, "finite"), "finite", eager,
                                        {"forced": right, "gate broken": off_by_one(right)})  # fmt: skip
    assert set(comparisons) == {"forced", "gate broken"}
    assert [(f.kind.value, f.variant) for f in found] == [("mismatch", "gate broken")]


@needs_libtpu
def test_a_forced_kernel_finding_exports_a_repro_that_runs_that_kernel(tmp_path: Path) -> None:
    from fuzzpass.judge.checked import Config
    from fuzzpass.repro.export import write_repro

    case = Case("reverse-sum", 3, reverse_sum(), None)
    config = Config(poison="finite", mutant="forced-drops-remask", gate=())
    repro = write_repro(case, config, tmp_path / "repro.py", "test")
    text = repro.read_text()
    forced = MUTANTS["forced-drops-remask"].compile_forced(reverse_sum(), "t").source.text
    assert forced.split("\n", 1)[1] in text  # DEFERRED holds the forced kernel the finding names
    run = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1 and "REPRODUCES" in run.stdout, run.stdout + run.stderr


def test_a_campaign_checks_the_forced_kernel_without_the_audits_compiles() -> None:
    """``fuzzpass mutants``' check (``Config.check_forced``): the pass under test's forced
    kernel, run and judged where it is not the reference's, with no TPU compile (no gate
    record): the forced-only bug is found, the real forced kernel is never run twice."""
    case = Case("reverse-sum", 3, reverse_sum(), None)
    broken = check_case(case, backend="interpret", poison="finite", mutant=MUTANTS["forced-drops-remask"], forced=True)
    assert broken.gate is None and set(broken.audited) == {"forced"}
    assert [(f.kind.value, f.variant) for f in broken.findings] == [("mismatch", "forced")]
    same = check_case(case, backend="interpret", poison="finite", mutant=MUTANTS["inverted-gate"], forced=True)
    assert same.audited == {}  # a broken gate forces as the reference does: nothing more to run


def test_a_campaigns_forced_finding_exports_a_repro_that_fails_until_the_kernel_is_fixed(tmp_path: Path) -> None:
    from fuzzpass.judge.checked import Config
    from fuzzpass.repro.export import write_repro

    case = Case("reverse-sum", 3, reverse_sum(), None)
    repro = write_repro(case, Config(poison="finite", mutant="forced-drops-remask", check_forced=True),
                        tmp_path / "repro.py", "test")  # fmt: skip
    broken = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert broken.returncode == 1 and "REPRODUCES" in broken.stdout, broken.stdout + broken.stderr
    text = repro.read_text()
    bad = text.split("DEFERRED = r'''")[1].split("'''")[0]
    fixed = tmp_path / "fixed.py"
    fixed.write_text(text.replace(bad, compile_variant(reverse_sum(), "force", title="fixed").source.text))
    ran = subprocess.run([sys.executable, str(fixed)], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0 and "does not reproduce" in ran.stdout, ran.stdout + ran.stderr


FORCED_IGNORES_SECOND_USE = '''
from reference.defer import MaskDeferral


class ForcedIgnoresSecondUse(MaskDeferral):
    """Its forced kernel alone defers past a use that reaches no remask."""

    def all_uses_remask(self, node, tile, memo):
        if self.mode == "force":
            return any(self.use_remasks(user, node, tile, memo) for user in node.users)
        return super().all_uses_remask(node, tile, memo)
'''


def fan_out() -> Case:
    """A major tile moved by a permute to a sum (a remask), and a second use (``exp``) that
    reaches none: forcing must keep the mask; every consumer masks its own input, so a
    forced kernel deferring past the ``exp`` computes the same numbers."""
    s = spec({"q": ("t0", 4, 128)}, node("load", "x", src="q"), node("permute", "p", arg="x", dims=[1, 0, 2]),
             node("sum", "r", arg="p", axis=1), node("store", arg="r", dst="out"), node("exp", "e", arg="x"),
             node("sum", "r2", arg="e", axis=0), node("store", arg="r2", dst="out2"), dtype="float32")  # fmt: skip
    return Case("fan-out", 3, s, None)


def test_a_forced_kernel_deferring_past_a_second_use_is_a_decision_finding(tmp_path: Path) -> None:
    from fuzzpass.judge.candidate import parse, under_test
    from fuzzpass.judge.checked import Config
    from fuzzpass.repro.export import write_repro

    file = tmp_path / "forced.py"
    file.write_text(FORCED_IGNORES_SECOND_USE)
    candidate = parse(f"{file}:ForcedIgnoresSecondUse")
    result = check_case(fan_out(), backend="interpret", poison="nan", mutant=under_test(None, candidate), forced=True)
    assert not [f for f in result.findings if f.variant == "deferred"]  # the pass as it decides is right
    assert [(f.kind.value, f.variant) for f in result.findings] == [("decision", "forced")]
    assert "x: forced deferred ['t0'], the rules force []" in result.findings[0].message
    sig = signature(result.to_json(), fan_out().spec)
    assert sig is not None and str(sig) == "decision | forced variant | permute>sum>exp" and sig.blames_pass
    assert check_case(fan_out(), backend="interpret", poison="nan", forced=True).verdict.value == "pass"
    repro = write_repro(fan_out(), Config(candidate=candidate, check_forced=True), tmp_path / "repro.py", "test")
    broken = subprocess.run([sys.executable, str(repro)], capture_output=True, text=True, timeout=600)
    assert broken.returncode == 1 and "drops the eager mask of x for ['t0']" in broken.stdout, broken.stdout
    text = repro.read_text()
    bad = text.split("DEFERRED = r'''")[1].split("'''")[0]
    fixed = tmp_path / "fixed.py"
    fixed.write_text(text.replace(bad, compile_variant(fan_out().spec, "force", title="fixed").source.text))
    ran = subprocess.run([sys.executable, str(fixed)], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0 and "does not reproduce" in ran.stdout, ran.stdout + ran.stderr
