"""Signatures: what makes two findings one, and what keeps them apart."""

from __future__ import annotations

from fuzzpass.judge.signature import Signature, rule, signature
from tests.specs import dense_kv


def report(verdict: str, message: str, stage: str = "compile", variant: str | None = "eager") -> dict:
    return {"verdict": verdict, "findings": [{"kind": verdict, "stage": stage, "variant": variant, "message": message}]}


def test_compile_rules_blank_numbers_but_keep_the_generation_and_the_variant() -> None:
    head = "rejected, the deferred one compiled"
    a = rule(report("compile", f"v5e: {head}: INTERNAL: Mosaic failed at line 12 (vector<16x128xf32>)"))
    b = rule(report("compile", f"v5e: {head}: INTERNAL: Mosaic failed at line 40 (vector<8x128xf32>)"))
    c = rule(report("compile", f"v6e: {head}: INTERNAL: Mosaic failed at line 12 (vector<16x128xf32>)"))
    d = rule(report("compile", f"v5e: {head}: INTERNAL: Mosaic failed at line 12 (x)", variant="deferred"))
    assert a == b == "v5e/eager: INTERNAL: Mosaic failed at line # (vector<#x#xf#>)"
    assert c.startswith("v6e/eager: ") and d.startswith("v5e/deferred: ")


def test_gate_rules_name_the_generation_and_the_choice() -> None:
    msg = "tpu7x: the pass chose to keep: 248 bundles; forcing deferral: 233 (+6%, static schedules)"
    assert rule(report("gate", msg, "decide", "deferred")) == "tpu7x: keep costs more"


def test_only_decisions_numerics_and_deferred_crashes_or_rejections_blame_the_pass() -> None:
    assert Signature("decision", "x", "p").blames_pass and Signature("mismatch", "x", "p").blames_pass
    assert Signature("crash", "execute/deferred: ValueError", "p").blames_pass
    assert not Signature("crash", "execute/eager: ValueError", "p").blames_pass
    assert not Signature("baseline-mismatch", "eager variant", "p").blames_pass
    assert not Signature("gate", "v6e: keep costs more", "p").blames_pass
    assert Signature("compile", "v6e/deferred: INTERNAL: Mosaic failed", "p").blames_pass
    assert not Signature("compile", "v6e/eager: INTERNAL: Mosaic failed", "p").blames_pass
    assert not Signature("compile", "v6e/both: eager: x; deferred: y", "p").blames_pass


def test_tpu_unsupported_is_counted_never_a_finding() -> None:
    unsupported = report("tpu-unsupported", "v6e: INTERNAL: Mosaic failed", variant=None)
    assert signature(unsupported, dense_kv()) is None


def test_slugs_are_safe_and_distinct() -> None:
    a, b = Signature("gate", "v6e: keep costs more", "permute>sum"), Signature("gate", "v6e: keep costs more", "sum")
    assert a.slug != b.slug and "/" not in a.slug and " " not in a.slug


def test_a_helion_crash_is_one_finding_per_message_whatever_the_graph() -> None:
    def report(message: str) -> dict[str, object]:
        finding = {"kind": "helion-crash", "stage": "execute", "variant": "helion-on", "message": message}
        return {"verdict": "helion-crash", "findings": [finding]}

    a = report("TypeError: Shapes must be 1D sequences of concrete values, got (JitTracer(int32[]), 8, 32).")
    b = report("TypeError: Shapes must be 1D sequences of concrete values, got (16, 2, 8, 128).")
    assert rule(a) == rule(b) == "execute/helion-on: TypeError: Shapes must be #D sequences of concrete values"
    assert signature(a, dense_kv()) == signature(b, dense_kv()) and signature(a, dense_kv()).pattern == "any"
