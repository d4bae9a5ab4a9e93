"""Judging kernel outputs against the float64 ground truth, on valid elements only.

Tolerance. Each op's float64 rule carries ``err``, a running forward error bound for a kernel
that rounds as the generated one does: inputs are exact in the case dtype; every elementwise
result is rounded once to its dtype (exp: 4 half-ulps, for the approximation); dots and sums
accumulate in float32, adding ``n * u32 * sum(|terms|)`` for ``n`` accumulated terms plus the
propagated input errors; max, min and layout ops add nothing. An element passes when

    |actual - expected| <= 2 * err + 1e-30

The factor 2 is margin for rounding the bound itself and for XLA evaluating in another order;
the floor only absorbs denormal flushing. Where the truth is infinite (a product with an
infinite factor) only the same infinity passes; where it is NaN nothing is judged. Since
``err`` grows with accumulation length and scales with the magnitudes summed, a bfloat16 sum
of 4096 terms gets a wide tolerance and a float32 copy gets none.
``tests/judge/test_tolerance.py`` runs the shipped cases on 1,000 seeds
without a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from reference.ops import T64

ATOL = 1e-30
MARGIN = 2.0


@dataclass
class Comparison:
    """One variant against the ground truth, over every stored output."""

    max_abs_err: float = 0.0
    max_rel_err: float = 0.0
    nonfinite: bool = False  # a valid element is NaN or Inf where the truth is finite
    out_of_tolerance: int = 0  # finite valid elements beyond tolerance
    worst: dict[str, Any] | None = None  # the element furthest beyond tolerance (or non-finite)
    nonfinite_at: dict[str, np.ndarray] = field(default_factory=dict)  # per output, mask

    def baseline_wrong(self, nan_poison: bool) -> bool:
        """As a baseline (a kernel without the pass): beyond tolerance, or non-finite where
        NaN poison and a multiplicative mask (the known hazard) cannot explain it."""
        return bool(self.out_of_tolerance) or (self.nonfinite and not nan_poison)

    def leaks_beyond(self, baseline: Comparison | None, nan_poison: bool) -> bool:
        """Non-finite where the truth is finite and, under NaN poison, the baseline (when it
        ran) was not: what the pass let through that the eager mask did not."""
        if not nan_poison or baseline is None:
            return self.nonfinite
        return any(bool((self.nonfinite_at[d] & ~baseline.nonfinite_at[d]).any()) for d in self.nonfinite_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "nonfinite": self.nonfinite,
            "out_of_tolerance": self.out_of_tolerance,
            "worst": self.worst,
        }


def compare(truth: dict[str, T64], actual: dict[str, np.ndarray]) -> Comparison:
    """How ``actual`` (per output, shaped like the truth) differs from ``truth``."""
    result = Comparison()
    worst_excess = -np.inf
    for dst, t in truth.items():
        a = actual[dst].astype(np.float64)
        tol = MARGIN * t.err + ATOL
        finite_truth = t.valid & np.isfinite(t.val)
        nonfinite = finite_truth & ~np.isfinite(a)
        result.nonfinite_at[dst] = nonfinite
        result.nonfinite |= bool(nonfinite.any())
        both = finite_truth & np.isfinite(a)
        diff = np.where(both, np.abs(a - np.where(both, t.val, 0.0)), 0.0)
        if both.any():
            result.max_abs_err = max(result.max_abs_err, float(diff.max()))
            rel = diff / np.maximum(np.abs(np.where(both, t.val, 1.0)), np.finfo(np.float64).tiny)
            result.max_rel_err = max(result.max_rel_err, float(rel.max()))
        # Where the truth is infinite (a product with an infinite factor), only that infinity is right.
        with np.errstate(invalid="ignore"):
            wrong_inf = t.valid & np.isinf(t.val) & (a != t.val)
        beyond = (both & (diff > tol)) | wrong_inf
        result.out_of_tolerance += int(beyond.sum())
        excess = np.where(nonfinite | wrong_inf, np.inf, np.where(beyond, diff - tol, -np.inf))
        if excess.size and excess.max() > worst_excess and excess.max() > -np.inf:
            worst_excess = float(excess.max())
            idx = np.unravel_index(int(np.argmax(excess)), excess.shape)
            result.worst = {
                "output": dst,
                "work_item": int(idx[0]),
                "index": [int(i) for i in idx[1:]],
                "expected": float(t.val[idx]),
                "actual": float(a[idx]),
                "tolerance": float(tol[idx]),
            }
    return result


def agree_bitwise(truth: dict[str, T64], a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    """Whether two variants hold the same bits on every valid element."""
    for dst, t in truth.items():
        x, y = a[dst][t.valid], b[dst][t.valid]
        if x.tobytes() != y.tobytes():
            return False
    return True


def disagree(truth: dict[str, T64], a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> int:
    """Valid elements where two variants, both finite, differ by more than the tolerance."""
    count = 0
    for dst, t in truth.items():
        x, y = a[dst].astype(np.float64), b[dst].astype(np.float64)
        both = t.valid & np.isfinite(x) & np.isfinite(y)
        with np.errstate(invalid="ignore"):  # inf - inf off ``both`` is NaN, and not counted
            count += int((both & (np.abs(x - y) > MARGIN * t.err + ATOL)).sum())
    return count
