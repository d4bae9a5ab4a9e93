"""What Mosaic (the TPU compiler) cannot build of this codegen: a TPU-tagged constraint, kept
out of the ops (NNSmith's ``patch_requires``), as :data:`fuzzpass.backends.tpu_aot.UNSUPPORTED_DTYPES`
keeps float16 out.

Codegen lays every structure out as Mosaic wants where it can (``reference/ops``); what is left
here is a structure no layout of it compiles. The generators stop drawing such a structure for
the TPU backends, and ``fuzzpass check`` reports a hand-written one as ``tpu-unsupported`` with
the reason, before compiling anything.
"""

from __future__ import annotations

from reference.spec import KernelSpec


def unsupported(spec: KernelSpec) -> str | None:
    """Why no kernel of ``spec`` compiles on TPU, or None when codegen can lay it out."""
    return None
