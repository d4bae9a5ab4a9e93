"""Comparing a real kernel's outputs: with its other variant, and with its file's reference.

A case has a float64 ground truth; a real kernel has what its file compares it with (a test's
``assert_close`` expected value, an example's baseline), and its other variant. Tolerances are
the file's own where it gave them, else ``torch.testing.assert_close``'s defaults for the dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fuzzpass.kernels.record import tensors

DEFAULT_TOLERANCE = {"float16": (1e-3, 1e-5), "bfloat16": (1.6e-2, 1e-5), "float32": (1.3e-6, 1e-5)}
"""dtype -> (rtol, atol), as ``torch.testing.assert_close`` has them."""

BETWEEN_VARIANTS = {"float16": (2e-2, 2e-2), "bfloat16": (2e-2, 2e-2), "float32": (1e-4, 1e-4)}
"""dtype -> (rtol, atol) between the pass-on and pass-off kernels: the same arithmetic, with the
mask applied before or after a transpose, so only rounding of a multiply by 1 may differ."""


@dataclass
class Difference:
    """Where ``actual`` is not ``expected``: elements beyond tolerance among those both hold
    finite, elements non-finite in ``actual`` where ``expected`` is finite, and the worst."""

    beyond: int = 0
    nonfinite: int = 0
    worst: str = ""

    @property
    def agrees(self) -> bool:
        return not self.beyond and not self.nonfinite

    def __str__(self) -> str:
        if self.agrees:
            return "agree"
        return f"{self.beyond} beyond tolerance, {self.nonfinite} non-finite where finite expected; {self.worst}"


def tolerance(value: Any, given: dict[str, float] | None, table: dict[str, tuple[float, float]]) -> tuple[float, float]:
    first = tensors(value)
    dtype = str(first[0].dtype).removeprefix("torch.") if first else "float32"
    rtol, atol = table.get(dtype, table["float32"])
    given = given or {}
    return given.get("rtol", rtol), given.get("atol", atol)


def difference(expected: Any, actual: Any, rtol: float, atol: float) -> Difference:
    """How ``actual`` differs from ``expected``, tensor by tensor, as float64."""
    import torch

    out = Difference()
    ours, theirs = tensors(expected), tensors(actual)
    if len(ours) != len(theirs):
        out.beyond, out.worst = 1, f"{len(theirs)} outputs, {len(ours)} expected"
        return out
    for i, (e, a) in enumerate(zip(ours, theirs, strict=True)):
        if e.shape != a.shape:
            out.beyond += 1
            out.worst = out.worst or f"output {i}: shape {tuple(a.shape)}, expected {tuple(e.shape)}"
            continue
        e64, a64 = e.detach().to(torch.float64), a.detach().to(torch.float64)
        finite = torch.isfinite(e64)
        leaked = finite & ~torch.isfinite(a64)
        both = finite & torch.isfinite(a64)
        diff = torch.where(both, (a64 - e64).abs(), torch.zeros_like(a64))
        beyond = both & (diff > atol + rtol * e64.abs())
        out.nonfinite += int(leaked.sum())
        out.beyond += int(beyond.sum())
        if not out.worst and (leaked.any() or beyond.any()):
            at = tuple(int(j) for j in (leaked | beyond).nonzero()[0])
            out.worst = f"output {i}{list(at)}: expected {float(e64[at])!r}, got {float(a64[at])!r}"
    return out
