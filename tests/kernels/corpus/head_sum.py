"""A jagged per-head sum over the rows of each segment, tile major at the load and moved to the
sublane dim by a permute: Helion's pass defers the load's mask. A test binds it as Helion's own
tests do, ``code_and_output`` with a config given as ``block_size=16``, and compares it with torch."""

import helion
import helion.language as hl
import torch
from helion._testing import code_and_output


@helion.kernel(backend="pallas", static_shapes=True)
def jagged_head_sum(x: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    nseg = offsets.size(0) - 1
    out = torch.zeros([nseg, x.size(1), x.size(2)], dtype=torch.float32, device=x.device)
    for seg in hl.grid(nseg):
        acc = hl.zeros([x.size(1), x.size(2)], dtype=torch.float32)
        for tile in hl.tile(offsets[seg], offsets[seg + 1]):
            acc = acc + x[tile, :, :].permute(1, 0, 2).to(torch.float32).sum(1)
        out[seg, :, :] = acc
    return out


@helion.kernel(backend="pallas", static_shapes=True, config=helion.Config(block_sizes=[16]))
def never_called(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    return out


def test_jagged_head_sum() -> None:
    offsets = torch.tensor([0, 10, 33, 40, 70], dtype=torch.int32)
    x = torch.randn(70, 2, 16)
    expected = torch.stack([x[offsets[i] : offsets[i + 1]].sum(0) for i in range(4)])
    _code, out = code_and_output(jagged_head_sum, (x, offsets), block_size=16)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
