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


def poison_reached(clean: dict[str, Any], poisoned: dict[str, Any], rtol: float, atol: float) -> dict[str, Difference]:
    """Per variant (``off``, ``on``), the elements that poison changed, among the *defined*
    ones: finite in both clean runs and the same in both. An element a kernel never writes
    (``torch.empty``'s memory) is defined by neither run, so it is never compared. Under
    ``only on``: the elements poison changed in the pass-on kernel's result and not in the
    pass-off one's, what the pass let through (the eager kernel's own leak is its hazard)."""
    import torch

    hits = {m: Difference() for m in (*clean, "only on")}
    pairs = zip(tensors(clean["off"]), tensors(clean["on"]), strict=False)
    for i, (off, on) in enumerate(pairs):
        if off.shape != on.shape:
            continue
        c_off, c_on = off.detach().to(torch.float64), on.detach().to(torch.float64)
        defined = torch.isfinite(c_off) & torch.isfinite(c_on) & ((c_on - c_off).abs() <= atol + rtol * c_off.abs())
        masks = {}
        for mode, base in (("off", c_off), ("on", c_on)):
            p = tensors(poisoned[mode])[i].detach().to(torch.float64)
            if p.shape != base.shape:
                continue
            nonfinite = defined & ~torch.isfinite(p)
            moved = defined & torch.isfinite(p) & ((p - base).abs() > atol + rtol * base.abs())
            masks[mode] = (nonfinite, moved, base, p)
        if len(masks) < 2:
            continue
        off_hit = masks["off"][0] | masks["off"][1]
        nonfinite, moved, base, p = masks["on"]
        masks["only on"] = (nonfinite & ~off_hit, moved & ~off_hit, base, p)
        for mode, (nonfinite, moved, base, p) in masks.items():
            hit = hits[mode]
            hit.nonfinite += int(nonfinite.sum())
            hit.beyond += int(moved.sum())
            if not hit.worst and (nonfinite | moved).any():
                at = tuple(int(j) for j in (nonfinite | moved).nonzero()[0])
                hit.worst = f"output {i}{list(at)}: {float(base[at])!r} without poison, {float(p[at])!r} with"
    return hits
