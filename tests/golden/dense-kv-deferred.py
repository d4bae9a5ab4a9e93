"""dense-kv-q-transpose-dot: deferred (After)"""

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl
from jax.experimental.pallas import tpu as pltpu


def kernel(
    t0_start_ref,
    t0_extent_ref,
    q_hbm,
    k_ref,
    out_ref,
    x_vmem,
    dma_sem,
):
    i0 = pl.program_id(0)
    t0_start = t0_start_ref[i0]
    t0_extent = t0_extent_ref[i0]
    mask_t0 = (lax.broadcasted_iota(jnp.int32, (16,), 0) < t0_extent).astype(jnp.float32)
    copy_x = pltpu.make_async_copy(q_hbm.at[pl.ds(t0_start, 16)], x_vmem, dma_sem.at[0])
    copy_x.start()
    copy_x.wait()
    x = x_vmem[...]  # mask of t0 deferred past the relayout; t0 discharged by xt_masked
    xt = jnp.transpose(x, (1, 0, 2))
    kt = k_ref[...]
    xt_masked = jnp.where(mask_t0[None, :, None] != 0, xt, 0)
    s = lax.dot_general(xt_masked, kt, (((2,), (2,)), ((0,), (0,))), preferred_element_type=jnp.float32)
    s_masked = jnp.where(mask_t0[None, :, None] != 0, s, 0)
    r = jnp.sum(s_masked, axis=1)
    out_ref[...] = r


def build(grid, *, interpret=False):
    """The pallas_call over ``grid`` (work items per tile: t0); compiled, it
    may use the chip's whole VMEM, as Helion's launcher lets its kernels."""
    vmem = None if interpret else pltpu.CompilerParams(vmem_limit_bytes=pltpu.get_tpu_info().vmem_capacity_bytes)
    return pl.pallas_call(
        kernel,
        grid_spec=pltpu.PrefetchScalarGridSpec(
            num_scalar_prefetch=2,
            grid=grid,
            in_specs=[
                pl.BlockSpec(memory_space=pl.ANY),  # q: DMA'd per work item
                pl.BlockSpec((4, 16, 128), lambda i0, *_: (0, 0, 0)),  # k: whole, in VMEM
            ],
            out_specs=[
                pl.BlockSpec((None, 4, 16), lambda i0, *_: (i0, 0, 0)),  # out: one slot per work item
            ],
            scratch_shapes=[
                pltpu.VMEM((16, 4, 128), jnp.bfloat16),
                pltpu.SemaphoreType.DMA((1,)),
            ],
        ),
        out_shape=[
            jax.ShapeDtypeStruct((*grid, 4, 16), jnp.float32),
        ],
        compiler_params=vmem,
        interpret=interpret,
    )
