#!/usr/bin/env python3
"""fuzzpass repro against production Helion: helion-crash | compile/helion-on: AssertionError: sympy expression is NaN | any

AssertionError: sympy expression is NaN

Case neighbours-5120acba1e.0 (seed 0, poison nan). Made by: fuzzpass export r151/findings/helion-regression-helion-crash-compile-helion-on-AssertionError-sympy-expression-0f5bcca6/minimized.json -o r151/findings/helion-regression-helion-crash-compile-helion-on-AssertionError-sympy-expression-0f5bcca6/repro.py
Versions: fuzzpass 0.1.0, jax 0.10.2, jaxlib 0.10.2, numpy 2.4.6, Python 3.11.7, helion 1.5.1, torch 2.13.0+cpu

KERNEL is the case written as a Helion kernel, exactly as fuzzpass ran it: Helion's Pallas
backend compiles it in interpret mode on the CPU, with its pass defer_pallas_load_masks on
(what users run) or off (its eager baseline). The data below holds the exact inputs
(poisoned padding included), each work item's start and extent, and the float64 ground truth
with its error bound; FINDING holds what the reference pass decides. Nothing here imports
fuzzpass: it needs helion, torch, jax and numpy.

A helion-compile or helion-gate finding is about the TPU compiler: Helion's launcher builds
the kernel for a TPU (interpret mode off), the JAX function it builds is caught before
torch_tpu would run it, and it is compiled deviceless for the finding's generation by the
real TPU compiler (needs jax[tpu]; no chip). helion-gate compares static schedules (scheduled
bundles of one grid step), not timings; its other choice is Helion's pass off, or, where
Helion kept the mask, its pass with the profitability gate (is_major_dim, is_last_two_dim)
replaced by "a permute moved the tile".

    python repro.py                        # with the installed Helion
    PYTHONPATH=DIR python repro.py         # with the Helion in DIR (pip install --target DIR helion==X)

Exit 1: the finding reproduces. Exit 0: it does not (fixed). It prints which Helion it ran.
"""

import base64
import functools
import io
import json
import os
import sys
import tempfile

os.environ["HELION_BACKEND"] = "pallas"
os.environ["HELION_PALLAS_INTERPRET"] = "1"
os.environ["HELION_DISALLOW_AUTOTUNING"] = "1"
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("TPU_WORKER_HOSTNAMES", "localhost")  # deviceless: libtpu looks for no other host
DUMP = tempfile.mkdtemp(prefix="repro-schedules-")  # libtpu writes each kernel's schedule here
os.environ["LIBTPU_INIT_ARGS"] = (f"--xla_jf_dump_to={DUMP} --xla_jf_dump_llo_text=true "
                                  "--xla_jf_dump_llo_pass_label_regex=final_bundles")

import numpy as np  # noqa: E402

FINDING = json.loads(r"""{"kind": "helion-crash", "mode": "on", "reference": {"x2": [], "x7": []}, "names": {"x2": "x2", "p4": "p4", "x7": "x7", "e5": "e5", "e8": "e8", "s9": "s9"}}""")  # kind, mode (on/off), the reference's decisions; tpu: generation, ...
TILES = ['t0']  # tile names, in grid order
GRID = (0,)  # real work items per tile (the kernel runs over more: extra items are empty)
OUTPUTS = json.loads(r"""[{"dst": "out1", "tiles": [null, null], "shape": [1, 1]}]""")  # per output: dst, tiles of the stored value, its shape
DTYPE = 'float32'
DATA = "UEsDBC0AAAAIAAAAIQBHthAk//////////8MABQAbl9pbnB1dHMubnB5AQAQAIgAAAAAAAAARgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2mhrqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RqaOgq1ChQBLiYGCAAAUEsDBC0AAAAIAAAAIQDuUraM//////////8NABQAc3RhcnRzX3QwLm5weQEAEADAAAAAAAAAAEgAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNpoq6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkahmY6mjoKtQrkAy4GCgEAUEsDBC0AAAAIAAAAIQDuUraM//////////8OABQAZXh0ZW50c190MC5ucHkBABAAwAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loG6TaaKuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GoZmOpo6CrUK5AMuBgoBAFBLAwQtAAAACAAAACEA4aA1W///////////CwAUAGlucHV0XzAubnB5AQAQAKAAAAAAAAAAVgAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2airqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RoWOgqGQKSpo1CrQB7gYmBoqAfi/1AMZB+A8iE0AFBLAwQtAAAACAAAACEAsUa8Q///////////CwAUAGlucHV0XzEubnB5AQAQAIQAAAAAAAAASwAAAAAAAACb7BfqGxDJyFDGUK2eklqcXKRupaBuk2airqOgnpZfVFKUmBefX5SSChJ3S8wpTgWKF2ckFqQC+RqGOgogpKmjUKtAHuDK2c9gBwBQSwMELQAAAAgAAAAhACdHlCf//////////xEAFABvdXQxLmV4cGVjdGVkLm5weQEAEACAAAAAAAAAAEgAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNmoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaBjoKhkCkqaNQq0Ae4AIAUEsDBC0AAAAIAAAAIQDposYk//////////8OABQAb3V0MS52YWxpZC5ucHkBABAAgAAAAAAAAABIAAAAAAAAAJvsF+obEMnIUMZQrZ6SWpxcpG6loF6TZKiuo6Cell9UUpSYF59flJIKEndLzClOBYoXZyQWpAL5GgY6CoZApKmjUKtAHuACAFBLAwQtAAAACAAAACEAJ0eUJ///////////EgAUAG91dDEudG9sZXJhbmNlLm5weQEAEACAAAAAAAAAAEgAAAAAAAAAm+wX6hsQychQxlCtnpJanFykbqWgbpNmoa6joJ6WX1RSlJgXn1+UkgoSd0vMKU4FihdnJBakAvkaBjoKhkCkqaNQq0Ae4AIAUEsBAi0DLQAAAAgAAAAhAEe2ECRGAAAAiAAAAAwAAAAAAAAAAAAAAIABAAAAAG5faW5wdXRzLm5weVBLAQItAy0AAAAIAAAAIQDuUraMSAAAAMAAAAANAAAAAAAAAAAAAACAAYQAAABzdGFydHNfdDAubnB5UEsBAi0DLQAAAAgAAAAhAO5StoxIAAAAwAAAAA4AAAAAAAAAAAAAAIABCwEAAGV4dGVudHNfdDAubnB5UEsBAi0DLQAAAAgAAAAhAOGgNVtWAAAAoAAAAAsAAAAAAAAAAAAAAIABkwEAAGlucHV0XzAubnB5UEsBAi0DLQAAAAgAAAAhALFGvENLAAAAhAAAAAsAAAAAAAAAAAAAAIABJgIAAGlucHV0XzEubnB5UEsBAi0DLQAAAAgAAAAhACdHlCdIAAAAgAAAABEAAAAAAAAAAAAAAIABrgIAAG91dDEuZXhwZWN0ZWQubnB5UEsBAi0DLQAAAAgAAAAhAOmixiRIAAAAgAAAAA4AAAAAAAAAAAAAAIABOQMAAG91dDEudmFsaWQubnB5UEsBAi0DLQAAAAgAAAAhACdHlCdIAAAAgAAAABIAAAAAAAAAAAAAAIABwQMAAG91dDEudG9sZXJhbmNlLm5weVBLBQYAAAAACAAIAN4BAABNBAAAAAA="

CASE = r"""{
  "format": "fuzzpass.case/1",
  "name": "neighbours-5120acba1e.0",
  "seed": 0,
  "dtype": "float32",
  "tiles": {
    "t0": {
      "block": 1,
      "lengths": [
        0
      ]
    }
  },
  "inputs": {
    "q1": {
      "shape": [
        "t0",
        1,
        1
      ]
    },
    "q6": {
      "shape": [
        1,
        1,
        1
      ]
    }
  },
  "graph": [
    {
      "out": "x2",
      "op": "load",
      "src": "q1"
    },
    {
      "out": "p4",
      "op": "permute",
      "arg": "x2",
      "dims": [
        2,
        1,
        0
      ]
    },
    {
      "out": "x7",
      "op": "load",
      "src": "q6"
    },
    {
      "out": "e5",
      "op": "add",
      "lhs": "p4",
      "rhs": "x7"
    },
    {
      "out": "e8",
      "op": "add",
      "arg": "e5",
      "scalar": "inf"
    },
    {
      "out": "s9",
      "op": "max",
      "arg": "e8",
      "axis": 2
    },
    {
      "op": "store",
      "arg": "s9",
      "dst": "out1"
    }
  ],
  "expect": {
    "deferred": {
      "x2": [],
      "x7": []
    }
  }
}"""

KERNEL = r'''"""neighbours-5120acba1e.0: as a Helion kernel"""
import helion
import helion.language as hl
import torch


@helion.kernel(config=helion.Config(block_sizes=[1]), static_shapes=True)
def fuzzpass_kernel(starts_t0: torch.Tensor, extents_t0: torch.Tensor, q1: torch.Tensor, q6: torch.Tensor) -> tuple[torch.Tensor, ...]:
    out_out1 = torch.empty([starts_t0.size(0), 1, 1], dtype=torch.float32, device=q1.device)
    for i0 in hl.grid(starts_t0.size(0)):
        start_t0 = starts_t0[i0]
        for t0 in hl.tile(start_t0, start_t0 + extents_t0[i0]):
            x2 = q1[t0, :, :]
            p4 = x2.permute(2, 1, 0)
            x7 = q6[:, :, :]
            e5 = p4 + x7
            e8 = e5 + float('inf')
            s9 = torch.amax(e8, 2)
            out_out1[i0, :, :] = s9
    return out_out1,
'''


def load_data():
    raw = base64.b64decode(DATA) if "DATA" in globals() else open(os.path.join(os.path.dirname(__file__), DATA_FILE), "rb").read()
    with np.load(io.BytesIO(raw)) as npz:
        return {k: npz[k] for k in npz.files}


DECIDED = []


def forced_pass(real):
    """Helion's pass with its two gate predicates replaced: the tile is a standalone dim at
    the load, and a permute moved it (another index) at every consumer mask. Built from
    Helion's own function, whose closures cannot be wrapped from outside."""
    import types

    dim_index = None

    def is_major_dim(node, block_id):
        at = dim_index(node, block_id)
        globals()["_tile_index_at_load"] = at
        return at is not None

    def is_last_two_dim(node, block_id):
        at = dim_index(node, block_id)
        return at is not None and at != globals()["_tile_index_at_load"]

    ours = {"is_major_dim": is_major_dim.__code__, "is_last_two_dim": is_last_two_dim.__code__}
    consts = tuple(ours[c.co_name].replace(co_qualname=c.co_qualname)
                   if isinstance(c, types.CodeType) and c.co_name in ours else c for c in real.__code__.co_consts)
    scope = dict(real.__globals__, _tile_index_at_load=None)
    return types.FunctionType(real.__code__.replace(co_consts=consts), scope, real.__name__)


def bind(mode, args, interpret=True):
    """Bind a fresh copy of KERNEL with Helion's pass on, off or forced; record what the pass
    deferred per load. With ``interpret`` False, Helion builds it for a TPU."""
    import helion._compiler.device_ir as device_ir
    from helion._compiler.compile_environment import CompileEnvironment
    from helion.language.memory_ops import load

    real = device_ir.defer_pallas_load_masks
    DECIDED.clear()

    @functools.wraps(real)
    def probed(graph):
        if mode == "on":
            real(graph)
        elif mode == "force":
            forced_pass(real)(graph)
        env = CompileEnvironment.current()
        for node in graph.find_nodes(op="call_function", target=load):
            ids = node.meta.get("pallas_deferred_mask_block_ids") or ()
            DECIDED.append((node.name, sorted(n for b in ids for n in env.block_sizes[b].debug_names)))

    device_ir.defer_pallas_load_masks = probed
    os.environ["HELION_PALLAS_INTERPRET"] = "1" if interpret else "0"  # read when the kernel is defined
    try:
        path = os.path.join(tempfile.mkdtemp(), "kernel.py")  # Helion reads the source back
        with open(path, "w") as f:
            f.write(KERNEL)
        namespace = {"__file__": path}
        exec(compile(KERNEL, path, "exec"), namespace)
        kernel = namespace["fuzzpass_kernel"]
        bound = kernel.bind(tuple(args))
        return kernel, bound
    finally:
        device_ir.defer_pallas_load_masks = real


class Caught(Exception):
    """Raised inside Helion's launcher once it has built the kernel's JAX function."""


def built_for_tpu(mode, args):
    """The JAX function Helion's launcher builds for a TPU with the pass ``mode``, and its
    arguments' (shape, dtype); or Helion's message when it cannot build one."""
    from helion.runtime.pallas import launcher

    build, chip_info = launcher._pallas_compile_jit_fn, launcher._ensure_torch_tpu_cpu_export_info

    def caught(pallas_kernel, grid, call_args, **kwargs):
        result = build(pallas_kernel, grid, call_args, **kwargs)
        inputs = [call_args[i] for i in result.tensor_arg_indices]
        raise Caught(result.jit_fn, [(tuple(a.shape), str(a.dtype).removeprefix("torch.")) for a in inputs])

    launcher._pallas_compile_jit_fn = caught
    launcher._ensure_torch_tpu_cpu_export_info = lambda: None  # asks torch_tpu for the chip: none here
    try:
        kernel, _ = bind(mode, args, interpret=False)
        kernel(*args)
    except Caught as e:
        return e.args
    except Exception as e:
        return f"Helion could not build the kernel: {type(e).__name__}: {str(e).strip().splitlines()[0]}"
    finally:
        launcher._pallas_compile_jit_fn, launcher._ensure_torch_tpu_cpu_export_info = build, chip_info
        os.environ["HELION_PALLAS_INTERPRET"] = "1"
    return "Helion's launcher built no Pallas kernel"


def compile_deviceless(built, topology):
    """One kernel compiled by the real TPU compiler for ``topology``, deviceless, with the
    target chip as JAX's default device: (None, scheduled bundles) or (the compiler's
    message, None)."""
    import re

    import jax
    from jax.experimental import topologies
    from jax.sharding import SingleDeviceSharding

    if isinstance(built, str):
        return built, None
    jit_fn, shapes = built
    device = topologies.get_topology_desc(platform="tpu", topology_name=topology).devices[0]
    before = set(os.listdir(DUMP))
    try:
        with jax.default_device(device):
            specs = [jax.ShapeDtypeStruct(s, d, sharding=SingleDeviceSharding(device)) for s, d in shapes]
            jax.jit(jit_fn).trace(*specs).lower().compile()
    except Exception as e:  # the compiler's rejection
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        message = lines[0] if lines else type(e).__name__
        return re.sub(r"^Pallas encountered an internal verification error\..*?Error details: ", "", message), None
    total = 0
    for name in set(os.listdir(DUMP)) - before:  # the kernel's schedule, not the XLA program's around it
        m = re.match(r"^\d+-(.+)-\d+-schedule-analysis_final_bundles\.txt$", name)
        if m and m[1] not in ("TLP", "<late-finalization>", "<late-initialization>"):
            text = open(os.path.join(DUMP, name)).read()
            total += sum(int(n) for n in re.findall(r"total scheduled bundles:\s+(\d+)", text))
    return None, total


def on_tpu_compiler(args):
    """helion-compile: Helion's kernels, pass on and off, through the TPU compiler; the
    finding holds while the same ones are rejected. helion-gate: Helion's choice against the
    other on static schedules."""
    tpu = FINDING["tpu"]
    if FINDING["kind"] == "helion-compile":
        results = {mode: compile_deviceless(built_for_tpu(mode, args), tpu["topology"]) for mode in ("off", "on")}
        for mode, (message, _) in results.items():
            print(f"{tpu['generation']}: Helion, pass {mode}: " + (f"rejected: {message}" if message else "compiled"))
        rejected = {f"helion-{mode}" for mode, (message, _) in results.items() if message}
        reproduces = rejected == ({tpu["rejected"]} if tpu["rejected"] else {"helion-on", "helion-off"})
    else:
        other = "off" if tpu["choice"] == "defer" else "force"
        results = {mode: compile_deviceless(built_for_tpu(mode, args), tpu["topology"]) for mode in ("on", other)}
        (_, chosen), (_, alternative) = results["on"], results[other]
        print(f"{tpu['generation']}: Helion's pass chose to {tpu['choice']}: {chosen} scheduled bundles; "
              f"{'its pass off' if other == 'off' else 'forcing deferral'}: {alternative} (static schedules, not timings)")
        reproduces = None not in (chosen, alternative) and chosen > alternative * (1 + tpu["margin"])
    print("REPRODUCED" if reproduces else "not reproduced (fixed?)")
    return 1 if reproduces else 0


def slots(array, tiles, shape, data):
    """An output as one row per real work item (a jagged store cut back into each item's window)."""
    items = [dict(zip(TILES, point)) for point in np.ndindex(*GRID)]
    if not any(tiles):
        return array[tuple(slice(0, k) for k in GRID)].reshape((len(items), *shape))
    padded = np.pad(array, [(0, shape[d]) if t else (0, 0) for d, t in enumerate(tiles)], constant_values=np.nan)
    rows = []
    for item in items:
        window = padded
        for d, t in enumerate(tiles):
            if t:
                start = int(data[f"starts_{t}"][item[t]])
                window = np.take(window, np.arange(start, start + shape[d]), axis=d)
        rows.append(window)
    return np.stack(rows)


def main():
    from importlib import metadata

    import helion
    import torch

    print(f"Helion {metadata.version('helion')} from {os.path.dirname(helion.__file__)}")
    data = load_data()
    args = [torch.from_numpy(data[f"{p}_{t}"]) for t in TILES for p in ("starts", "extents")]
    args += [torch.from_numpy(data[f"input_{i}"]).to(getattr(torch, DTYPE)) for i in range(int(data["n_inputs"]))]
    if "tpu" in FINDING:
        return on_tpu_compiler(args)
    mode = FINDING["mode"]
    try:
        kernel, bound = bind(mode, args)
        print(f"Helion's generated Pallas source (pass {mode}):\n{bound.to_code()}")
        results = kernel(*args)
    except Exception as e:
        print(f"REPRODUCED: Helion (pass {mode}) failed: {type(e).__name__}: {str(e).strip().splitlines()[0]}")
        return 1 if FINDING["kind"] == "helion-crash" else 0
    if FINDING["kind"] == "helion-decision":
        reference = FINDING["reference"]
        names = FINDING["names"]
        parted = []
        for load, tiles in reference.items():
            theirs = next((d for n, d in DECIDED if n == names[load]), None)
            print(f"load {load}: Helion defers {theirs}, the reference {tiles}")
            if theirs is not None and sorted(theirs) != sorted(tiles):
                parted.append(load)
        if parted:
            print(f"REPRODUCED: Helion's pass and the reference part on {', '.join(parted)}")
            return 1
        print("not reproduced: Helion decides as the reference does")
        return 0
    results = results if isinstance(results, tuple) else (results,)
    failed = False
    for out, result in zip(OUTPUTS, results):
        got = slots(result.to(torch.float64).numpy(), out["tiles"], out["shape"], data)
        dst = out["dst"]
        expected, valid, tol = data[f"{dst}.expected"], data[f"{dst}.valid"], data[f"{dst}.tolerance"]
        bad = valid & ~(np.abs(got - expected) <= tol)
        if bad.any():
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            print(f"{dst}: {int(bad.sum())} valid elements wrong; first at [item {first[0]}][{','.join(map(str, first[1:]))}]: "
                  f"expected {expected[first]!r}, got {got[first]!r} (tolerance {tol[first]:.3g})")
            failed = True
    if failed:
        print(f"REPRODUCED: Helion (pass {mode}) disagrees with the float64 ground truth")
        return 1
    print(f"not reproduced: Helion (pass {mode}) agrees with the ground truth")
    return 0


if __name__ == "__main__":
    sys.exit(main())
