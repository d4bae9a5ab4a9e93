"""An example in Helion's form: a jagged projection (masked load -> transpose -> bmm) run from
``main``, checked against a torch baseline through ``run_example``."""

import helion
import helion.language as hl
import torch
from helion._testing import run_example


@helion.kernel(backend="pallas", static_shapes=True, config=helion.Config(block_sizes=[16]))
def jagged_proj(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for seg in hl.grid(offsets.size(0) - 1):
        wb = w[:, :, :]
        for tile in hl.tile(offsets[seg], offsets[seg + 1]):
            xb = x[tile, :, :].transpose(0, 1)
            out[tile, :, :] = torch.bmm(xb, wb).transpose(0, 1)
    return out


def jagged_proj_reference(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for i in range(offsets.size(0) - 1):
        s, e = int(offsets[i]), int(offsets[i + 1])
        out[s:e] = torch.bmm(x[s:e].transpose(0, 1), w).transpose(0, 1)
    return out


def main() -> None:
    offsets = torch.tensor([0, 10, 33, 40], dtype=torch.int32)
    x = torch.randn(40, 2, 16)
    w = torch.randn(2, 16, 16)
    run_example(jagged_proj, jagged_proj_reference, (x, w, offsets), rtol=1e-4, atol=1e-4)
