"""What Mosaic (the TPU compiler) cannot build of this codegen, by design: a TPU-tagged
constraint kept out of the ops (NNSmith's ``patch_requires``).

Codegen lays every drawn structure out as Mosaic wants (a dot as one matmul with one batch and
one contracted dim, a regrouping reshape through the lane dim, a narrow reduction's mask in
float32: ``reference/ops``). What is left here is what no layout gets past. The generators do
not draw it for the TPU backends, and ``fuzzpass check`` reports a hand-written case of it as
``tpu-unsupported`` with this reason, before compiling anything. A rejection that depends on
sizes (a scoped VMEM overflow on one generation) is not stated here: the compiler says it,
and the case is ``tpu-unsupported`` with its message.
"""

from __future__ import annotations

from reference.spec import KernelSpec

UNSUPPORTED_DTYPES = {"float16": "Mosaic has no float16 vectors ('Invalid vector type for load')"}


def unsupported(spec: KernelSpec) -> str | None:
    """Why no kernel of ``spec`` compiles on TPU, or None when codegen can lay it out."""
    dtypes = [spec.dtype] + [n["dtype"] for n in spec.graph if n.op == "cast"]
    return next((f"{d}: {UNSUPPORTED_DTYPES[d]}" for d in dtypes if d in UNSUPPORTED_DTYPES), None)
