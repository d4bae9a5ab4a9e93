"""Helion's kernels built for the TPU compiler on each of its launcher's paths
(``backends.helion_tpu``), deviceless and without torch_tpu: a compact worklist (the path that
ended in ``No module named 'torch_tpu'``), a static grid in every loop type, scalar prefetch, a
distributed kernel; each generation's kernel asks that chip for its VMEM; a path the harness
does not know is named as the harness's limit."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from fuzzpass.backends import helion_patches, helion_tpu, tpu_aot
from fuzzpass.backends.helion import prepare_environment

prepare_environment()  # Helion's environment, before Helion is imported
helion = pytest.importorskip("helion")
hl = pytest.importorskip("helion.language")

needs_libtpu = pytest.mark.skipif(tpu_aot.unavailable() is not None, reason="needs libtpu (the tpu extra)")

GENERATIONS = ("v5e", "v6e", "tpu7x")


@helion.kernel(backend="pallas", static_shapes=True)
def jagged_kv(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, q_offsets: torch.Tensor) -> torch.Tensor:
    """Dense-KV attention over jagged query rows: Helion flattens it into a compact worklist."""
    out = torch.empty_like(q)
    for seq in hl.grid(q_offsets.size(0) - 1):
        k_blk = k[seq, :, :, :].transpose(0, 1)
        v_blk = v[seq, :, :, :].transpose(0, 1)
        for tile_q in hl.tile(q_offsets[seq], q_offsets[seq + 1]):
            q_blk = q[tile_q, :, :].transpose(0, 1)
            scores = torch.bmm(q_blk, k_blk.transpose(-2, -1))
            out[tile_q, :, :] = torch.bmm(scores.to(v.dtype), v_blk).transpose(0, 1).to(out.dtype)
    return out


@helion.kernel(backend="pallas", static_shapes=True)
def row_sum(x: torch.Tensor) -> torch.Tensor:
    out = torch.empty([x.size(0)], dtype=x.dtype, device=x.device)
    for tile_m in hl.tile(x.size(0)):
        acc = hl.zeros([tile_m], dtype=torch.float32)
        for tile_n in hl.tile(x.size(1)):
            acc = acc + x[tile_m, tile_n].sum(-1)
        out[tile_m] = acc
    return out


@helion.kernel(backend="pallas", static_shapes=True)
def gather_rows(indices: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """A row picked per program by an index tensor: a ``pl.pallas_call`` with scalar prefetch."""
    out = torch.empty([indices.size(0), table.size(1), table.size(2)], dtype=table.dtype, device=table.device)
    for i in hl.grid(indices.size(0)):
        out[i, :, :] = table[indices[i], :, :]
    return out


@helion.kernel(backend="pallas", static_shapes=True)
def barrier_copy(src: torch.Tensor, dst: torch.Tensor, peers: torch.Tensor) -> torch.Tensor:
    """A remote barrier: the launcher runs the kernel under ``shard_map``."""
    for _program in hl.grid(1):
        hl.remote_barrier(peers[0, :])
        dst[0, :] = src[0, :]
    return dst


def jagged_kv_args() -> tuple[torch.Tensor, ...]:
    torch.manual_seed(0)
    q_offsets = torch.tensor([0, 10, 33, 40], dtype=torch.int32)  # rows not multiples of the tile
    q = torch.randn(40, 2, 128)
    return q, torch.randn(3, 16, 2, 128), torch.randn(3, 16, 2, 128), q_offsets


def worklist(loop_type: str) -> Any:
    return helion.Config(block_sizes=[16], pallas_loop_type=loop_type, pallas_worklist_grouping=1)


PATHS = {
    # name: kernel, arguments, config, what Helion's generated launch passes its launcher
    "compact-worklist-unroll": (jagged_kv, jagged_kv_args, worklist("unroll"), "_compact_build_worklist"),
    "compact-worklist-fori_loop": (jagged_kv, jagged_kv_args, worklist("fori_loop"), "_compact_build_worklist"),
    "compact-worklist-emit_pipeline": (
        jagged_kv,
        jagged_kv_args,
        worklist("emit_pipeline"),
        "_compact_build_worklist",
    ),
    "grid-unroll": (
        row_sum,
        lambda: (torch.randn(64, 256),),
        helion.Config(block_sizes=[16, 128], pallas_loop_type="unroll"),
        "_launcher(",
    ),
    "grid-fori_loop": (
        row_sum,
        lambda: (torch.randn(64, 256),),
        helion.Config(block_sizes=[16, 128], pallas_loop_type="fori_loop"),
        "_scratch_shapes=",
    ),
    "grid-emit_pipeline": (
        row_sum,
        lambda: (torch.randn(64, 256),),
        helion.Config(block_sizes=[16, 128], pallas_loop_type="emit_pipeline"),
        "_scratch_shapes=",
    ),
    "scalar-prefetch": (
        gather_rows,
        lambda: (torch.tensor([3, 1, 0, 2], dtype=torch.int32), torch.randn(4, 16, 128)),
        helion.Config(block_sizes=[], pallas_loop_type="unroll"),
        "_grid_scalar_prefetch_arg_indices=",
    ),
    "distributed": (
        barrier_copy,
        lambda: (torch.randn(2, 128), torch.zeros(2, 128), torch.tensor([[1, 2]], dtype=torch.int32)),
        helion.Config(block_sizes=[]),
        "_collective_id=",
    ),
}


@needs_libtpu
@pytest.mark.parametrize("path", PATHS)
def test_every_launcher_path_builds_and_compiles_for_each_generation(path: str) -> None:
    kernel, make_args, config, launch_says = PATHS[path]
    args = make_args()
    assert launch_says in kernel.bind(args).to_code(config)  # the path this test means to take
    built = {mode: helion_tpu.build_call(kernel, args, config, mode) for mode in ("on", "off")}
    for mode, b in built.items():
        assert b.failure is None, (mode, b.failure)
        compiled = helion_tpu.compile_built(b, GENERATIONS)
        assert {g: c.message for g, c in compiled.items() if not c.ok} == {}, mode
    if kernel is jagged_kv:  # the pass defers the masks of the jagged tiles: on and off are two kernels
        assert built["on"].defers and not built["off"].defers


@needs_libtpu
def test_each_generation_kernel_asks_its_own_chip_for_its_vmem(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helion keeps its first VMEM answer for the whole process; each generation's kernel gets
    its chip's capacity all the same (v5e 128 MiB, TPU7x 64 MiB per TensorCore), and Helion's
    own answer is left as it was."""
    from helion.runtime.pallas import launcher

    monkeypatch.setattr(launcher, "_CACHED_VMEM_LIMIT_BYTES", 16 * 1024 * 1024)  # as a fresh process's fallback
    for kernel, make_args, config, _ in (PATHS["grid-unroll"], PATHS["compact-worklist-unroll"]):
        built = helion_tpu.build_call(kernel, make_args(), config, "on")
        with helion_patches.tpu_launcher():
            modules = {g: tpu_aot.lower_for(built.jit_fn_for_chip, built.shapes, g).as_text() for g in ("v5e", "tpu7x")}
        assert str(128 * 2**20) in modules["v5e"] and str(64 * 2**20) not in modules["v5e"]
        assert str(64 * 2**20) in modules["tpu7x"] and str(128 * 2**20) not in modules["tpu7x"]
    assert launcher._CACHED_VMEM_LIMIT_BYTES == 16 * 1024 * 1024


def test_a_launcher_path_the_harness_does_not_know_is_named_as_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if Helion's compact-worklist builder were new: its kernel reaches the torch_tpu
    hand-over with nothing this module can repeat per chip, which is said, not compiled."""
    monkeypatch.setattr(helion_patches, "BUILDERS", ("_pallas_compile_jit_fn",))
    kernel, make_args, config, _ = PATHS["compact-worklist-unroll"]
    built = helion_tpu.build_call(kernel, make_args(), config, "on")
    assert built.failure is not None and built.failure.startswith("the harness cannot build this kernel without a TPU")
    assert "torch_tpu" in built.failure and "_pallas_compile_jit_fn" in built.failure
    assert all(c.message == built.failure for c in helion_tpu.compile_built(built, GENERATIONS).values())


@needs_libtpu
def test_a_helion_without_the_pallas_launcher_module_is_a_reason_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Helion 1.4.0 keeps its launchers in ``helion.runtime`` and lacks the hooks fuzzpass
    catches kernels by: ``check --helion 1.4.0`` raised ``No module named
    'helion.runtime.pallas'``. Where the launchers live is ``helion_patches.launcher_module``'s
    to say, and a missing hook is the reason the TPU half is not run."""
    import types

    monkeypatch.setattr(helion_patches, "launcher_module", lambda: types.ModuleType("helion.runtime"))
    reason = helion_tpu.unavailable()
    assert reason is not None and f"has no helion.runtime.{helion_patches.HOOKS[0]}" in reason
    assert reason.endswith("its kernels cannot be caught for the TPU compiler")
