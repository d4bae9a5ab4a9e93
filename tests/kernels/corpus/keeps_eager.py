"""Kernels where Helion's pass must not fire: the masked tile already in the sublane dim, and a
load with a second, non-masking use."""

import unittest

import helion
import helion.language as hl
import torch


@helion.kernel(backend="pallas", static_shapes=True, config=helion.Config(block_sizes=[16]))
def row_sum(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    nseg = offsets.size(0) - 1
    out = torch.zeros([nseg, x.size(1)], dtype=torch.float32, device=x.device)
    for seg in hl.grid(nseg):
        acc = hl.zeros([x.size(1)], dtype=torch.float32)
        for tile in hl.tile(offsets[seg], offsets[seg + 1]):
            acc = acc + x[tile, :].to(torch.float32).sum(0)
        out[seg, :] = acc
    return out


class TestKeeps(unittest.TestCase):
    def test_row_sum(self) -> None:
        offsets = torch.tensor([0, 5, 30], dtype=torch.int32)
        x = torch.randn(30, 32)
        expected = torch.stack([x[0:5].sum(0), x[5:30].sum(0)])
        torch.testing.assert_close(row_sum(x, offsets), expected, rtol=1e-4, atol=1e-4)

    @unittest.skip("TPU only, as Helion skips its TPU-only tests in interpret mode")
    def test_tpu_only(self) -> None:
        row_sum(torch.randn(12, 16), torch.tensor([0, 12], dtype=torch.int32))
        raise AssertionError("what a TPU would check: fuzzpass records the call above regardless")
