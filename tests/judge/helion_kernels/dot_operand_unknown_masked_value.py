"""Repro of a ``helion-mismatch`` in Helion 1.5.1's ``_dots_zeroed_by_partner`` (a rule beside
``defer_pallas_load_masks``; fuzzpass names it ``dots_zeroed_by_partner``).

``a = q * (1.0 / q)`` is 1 on every valid lane. On a padded lane of the K tile the load holds
0, so ``1 / a`` is inf and the product 0 * inf = NaN; Helion's ``strict_float`` rule rightly
leaves that masked value unknown. ``_dots_zeroed_by_partner`` then takes the unknown value to
be finite (its docstring says so, to keep attention's graphs unchanged) and, since ``v`` is 0
past K, drops ``a``'s zero-fill mask: the padded lanes' NaN times 0 reaches every output.
``python tests/judge/helion_kernels/dot_operand_unknown_masked_value.py`` exits 1 while the
kernel returns NaN where ``(q * (1 / q)) @ v`` is finite; it needs only ``helion``, ``torch``
and ``jax`` (interpret mode, no chip).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HELION_BACKEND", "pallas")
os.environ.setdefault("HELION_PALLAS_INTERPRET", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import helion
import helion.language as hl
import torch


@helion.kernel(backend="pallas", static_shapes=True)
def dot_of_self_ratio(q: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    m, k = q.shape
    _, n = v.shape
    out = torch.empty([m, n], dtype=torch.float32, device=q.device)
    for tile_m in hl.tile(m):
        acc = hl.zeros([tile_m, n], dtype=torch.float32)
        for tile_k in hl.tile(k):
            a = q[tile_m, tile_k]
            a = a * (1.0 / a)
            acc = acc + hl.dot(a, v[tile_k, :], out_dtype=torch.float32)
        out[tile_m, :] = acc
    return out


def run(block_k: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """The kernel's output and the float64 truth, K = 200 (not a multiple of ``block_k``)."""
    from helion._testing import code_and_output

    generator = torch.Generator().manual_seed(0)
    q = torch.rand(16, 200, generator=generator) + 0.5
    v = torch.rand(200, 128, generator=generator)
    _, got = code_and_output(dot_of_self_ratio, (q, v), block_sizes=[16, block_k])
    truth = (q.double() * (1.0 / q.double())) @ v.double()
    return got, truth


if __name__ == "__main__":
    got, truth = run()
    wrong = int((~torch.isclose(got.double(), truth, rtol=1e-4, atol=1e-4)).sum())
    print(f"{wrong} of {got.numel()} elements wrong ({int(torch.isnan(got).sum())} NaN)")
    sys.exit(1 if wrong else 0)
