"""What TPU interpret mode costs against plain interpret mode, on Helion kernels both can run
(issue 35): whether ``fuzzpass corpus`` should use it everywhere or only where plain interpret
mode cannot run a kernel.

For each kernel below, bound with Helion's pass on, the first call (trace, lower and compile
in that interpreter) and the mean of the next ``--repeat`` calls are timed in each
interpreter, in one process, and the ratio TPU / plain printed. Both must agree on the result.

    python bench/interpret_cost.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import Callable
from typing import Any

from fuzzpass.backends import helion as helion_backend
from fuzzpass.backends import helion_patches

helion_backend.prepare_environment()  # Helion's environment, set before Helion is imported

import helion  # noqa: E402
import helion.language as hl  # noqa: E402
import torch  # noqa: E402


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


@helion.kernel(backend="pallas", static_shapes=True)
def jagged_gram(x: torch.Tensor, y: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    nseg = offsets.size(0) - 1
    out = torch.empty([nseg, x.size(1), x.size(2), y.size(2)], dtype=torch.float32, device=x.device)
    for seg in hl.grid(nseg):
        acc = hl.zeros([x.size(1), x.size(2), y.size(2)], dtype=torch.float32)
        for tile in hl.tile(offsets[seg], offsets[seg + 1]):
            acc = torch.baddbmm(acc, x[tile, :, :].permute(1, 2, 0), y[tile, :, :].transpose(0, 1))
        out[seg, :, :, :] = acc
    return out


def kernels() -> dict[str, tuple[Any, tuple[Any, ...], Any]]:
    """name -> (kernel, arguments, config): jagged kernels where Helion's pass fires."""
    torch.manual_seed(0)
    offsets = torch.tensor([0, 10, 33, 40, 80, 200], dtype=torch.int32)
    x = torch.randn(200, 4, 128, dtype=torch.bfloat16)
    y = torch.randn(200, 4, 128, dtype=torch.bfloat16)
    fori = helion.Config(block_sizes=[16], pallas_loop_type="fori_loop")
    return {
        "jagged_head_sum [200, 4, 128] bf16": (jagged_head_sum, (x, offsets), helion.Config(block_sizes=[16])),
        "jagged_gram [200, 4, 128] bf16, fori_loop": (jagged_gram, (x, y, offsets), fori),
    }


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    start = time.perf_counter()
    result = call()
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeat):
        call()
    return first, (time.perf_counter() - start) / repeat, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    helion_patches.compile_once_per_shape()
    print(f"{'kernel':<44}{'interpreter':<15}{'first call s':>13}{'next calls s':>13}")
    for name, (kernel, call_args, config) in kernels().items():
        compiled = kernel.bind(call_args).compile_config(config)
        seconds = {}
        results = {}
        for interpreter, context in (("plain", contextlib.nullcontext), ("TPU", helion_patches.tpu_interpret)):
            with context():
                first, warm, results[interpreter] = timed(lambda c=compiled, a=call_args: c(*a), args.repeat)
            seconds[interpreter] = (first, warm)
            print(f"{name:<44}{interpreter:<15}{first:>13.2f}{warm:>13.3f}")
        same = torch.allclose(results["plain"].float(), results["TPU"].float(), rtol=1e-3, atol=1e-3)
        ratio = [seconds["TPU"][i] / seconds["plain"][i] for i in (0, 1)]
        print(f"{'':<44}{'TPU / plain':<15}{ratio[0]:>12.1f}x{ratio[1]:>12.1f}x  results agree: {same}")


if __name__ == "__main__":
    main()
