"""Human-readable output of a check: what was decided, how each variant did, what was found."""

from __future__ import annotations

import json
from typing import Any

from fuzzpass.judge.check import VARIANTS, CheckResult

NOT_FINDINGS = {
    "inexpressible": "INEXPRESSIBLE in Helion",
    "helion-known": "HELION-KNOWN (a documented bug of Helion's rules, modelled; not the pass)",
    "baseline-unstated": "BASELINE-UNSTATED (no positional mask states the case, not the pass)",
    "tpu-unsupported": "TPU-UNSUPPORTED (a limit of codegen or Mosaic, not the pass)",
    "helion-tpu-unsupported": "HELION-TPU-UNSUPPORTED (a limit of Helion's TPU codegen, not the pass)",
}
"""How the terminal report labels each verdict that is counted and never a finding."""


def render_check(result: CheckResult, show_source: bool = False) -> str:
    case = result.case
    lines = [f"{case.name} (seed {case.seed}, poison {result.poison}): {result.verdict.value}"]
    decisions = result.variants["deferred"].decisions if "deferred" in result.variants else {}
    for load, d in decisions.items():
        parts = [
            f"{tile} deferred to {', '.join(d.consumers[tile])}" if reason == "deferred" else f"{tile} eager ({reason})"
            for tile, reason in d.reasons.items()
        ]
        lines.append(f"  load {load}: {'; '.join(parts) if parts else 'no tile dims'}")
    for name in VARIANTS:
        c = result.comparisons.get(name)
        if c is not None:
            lines.append(
                f"  {name:<8} max_abs_err {c.max_abs_err:.3g}  max_rel_err {c.max_rel_err:.3g}  "
                f"nonfinite {'yes' if c.nonfinite else 'no'}  beyond tolerance {c.out_of_tolerance}"
            )
    if result.bitwise_equal is not None:
        lines.append(f"  eager and deferred agree bitwise: {'yes' if result.bitwise_equal else 'no'}")
    if result.eager_hazard:
        lines.append(f"  eager: the baseline's known hazard ({result.eager_hazard}); judged under finite poison")
    for backend, status in result.backends.items():
        if isinstance(status, dict):
            status = ", ".join(
                f"{gen} " + ("compiled" if all(s == "compiled" for s in per.values()) else "REJECTED")
                for gen, per in status.items()
            )
        lines.append(f"  {backend}: {status}")
    if result.helion is not None:
        lines += _helion_lines(result.helion)
    for f in result.findings:
        if label := NOT_FINDINGS.get(f.kind.value):
            lines.append(f"  {label}: {f.message}")
            continue
        lines.append(f"  FINDING {f.kind.value} [{f.stage.value}{', ' + f.variant if f.variant else ''}]: {f.message}")
    if show_source:
        for name, variant in result.variants.items():
            lines += ["", f"# ---- {name} ----", variant.source.text]
        if result.helion is not None:
            lines += ["", "# ---- the case as a Helion kernel ----", result.helion["kernel"]]
            for mode, text in result.helion["pallas"].items():
                lines += ["", f"# ---- Helion's Pallas source, its pass {mode} ----", text]
    return "\n".join(lines)


def _helion_lines(helion: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{k} {v}" for k, v in helion["versions"].items())
    lines = [f"  helion ({versions}):"]
    if "deferred" in helion:
        lines.append(f"    Helion's pass defers: {json.dumps(helion['deferred'])}")
    for mode, c in helion.get("comparisons", {}).items():
        lines.append(
            f"    pass {mode:<3} max_abs_err {c['max_abs_err']:.3g}  max_rel_err {c['max_rel_err']:.3g}  "
            f"nonfinite {'yes' if c['nonfinite'] else 'no'}  beyond tolerance {c['out_of_tolerance']}"
        )
    tpu = helion.get("tpu")
    if isinstance(tpu, dict):
        cells = [
            f"{gen} " + ", ".join(f"{mode} {'compiled' if r['ok'] else 'REJECTED'}" for mode, r in modes.items())
            for gen, modes in tpu.items()
        ]
        lines.append(f"    TPU compiles of Helion's kernels: {'; '.join(cells)}")
    elif tpu:
        lines.append(f"    TPU compiles of Helion's kernels: {tpu}")
    return lines


def render_baseline(report: dict[str, Any]) -> str:
    """What ``--helion-baseline`` added to a check: the baseline's verdict, what regressed
    since it (findings) and what was fixed (counted, never a finding)."""
    b = report["helion_baseline"]
    lines = [f"baseline Helion {b['helion']}: {b['verdict']}"]
    lines += [f"  regressed since it: {f['kind']} ({f['variant']}): {f['message']}" for f in b["regressed"]]
    lines += [f"  fixed since it: {f['kind']} ({f['variant']}): {f['message']}" for f in b["fixed"]]
    return "\n".join(lines)
