"""A kernel where Helion's pass fires but whose consumer the case language cannot state: the
permuted tile summed with ``keepdim``."""

import helion
import helion.language as hl
import torch


@helion.kernel(backend="pallas", static_shapes=True, config=helion.Config(block_sizes=[16]))
def head_sum_keepdim(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    nseg = offsets.size(0) - 1
    out = torch.zeros([nseg, x.size(1), 1, x.size(2)], dtype=torch.float32, device=x.device)
    for seg in hl.grid(nseg):
        acc = hl.zeros([x.size(1), 1, x.size(2)], dtype=torch.float32)
        for tile in hl.tile(offsets[seg], offsets[seg + 1]):
            acc = acc + x[tile, :, :].permute(1, 0, 2).to(torch.float32).sum(1, keepdim=True)
        out[seg, :, :, :] = acc
    return out


def test_keepdim() -> None:
    offsets = torch.tensor([0, 20], dtype=torch.int32)
    head_sum_keepdim(torch.randn(20, 2, 16), offsets)
