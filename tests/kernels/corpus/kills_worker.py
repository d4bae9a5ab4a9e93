"""A test that kills its process (as a segfault in a kernel would), between two that do not:
the run must go on, report the entry, and keep the kernel the other tests call."""

import os

import helion
import helion.language as hl
import torch


@helion.kernel(backend="pallas", static_shapes=True, config=helion.Config(block_sizes=[8]))
def add_one(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    for tile in hl.tile(x.size(0)):
        out[tile] = x[tile] + 1
    return out


def test_a_add_one() -> None:
    torch.testing.assert_close(add_one(torch.ones(20)), torch.full((20,), 2.0))


def test_b_dies() -> None:
    os._exit(3)


def test_c_add_one_again() -> None:
    add_one(torch.zeros(12))
