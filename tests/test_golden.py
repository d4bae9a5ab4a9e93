"""Golden sources of the dense-KV example: the mission's Before/After kernels, exactly.

A deliberate codegen change regenerates them with ``FUZZPASS_UPDATE_GOLDEN=1 pytest
tests/test_golden.py`` and shows up in review as a diff of generated code.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fuzzpass.core.case import load_case
from reference.compile import compile_variant
from tests.conftest import CONTRACT_CASES

GOLDEN = Path(__file__).parent / "golden"
DENSE_KV = next(p for p in CONTRACT_CASES if p.stem == "dense-kv-q-transpose-dot")


def source(name: str) -> str:
    case = load_case(DENSE_KV)
    mode, title = {"eager": ("off", "Before"), "deferred": ("on", "After")}[name]
    return compile_variant(case.spec, mode, title=f"{case.name}: {name} ({title})").source.text  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["eager", "deferred"])
def test_golden_source(name: str) -> None:
    path = GOLDEN / f"dense-kv-{name}.py"
    if os.environ.get("FUZZPASS_UPDATE_GOLDEN"):
        path.write_text(source(name))
    assert source(name) == path.read_text()


def test_before_masks_the_load_in_its_own_layout() -> None:
    text = source("eager")
    assert "x = x_vmem[...] * mask_t0[:, None, None].astype(jnp.bfloat16)" in text
    assert "jnp.where(mask_t0[None, :, None] != 0, xt, 0)" not in text  # dropped as redundant


def test_after_masks_past_the_transpose_with_a_select() -> None:
    text = source("deferred")
    assert "x = x_vmem[...]  # mask of t0 deferred past the relayout; t0 discharged by xt_masked" in text
    transpose = text.index("xt = jnp.transpose(x, (1, 0, 2))")
    select = text.index("xt_masked = jnp.where(mask_t0[None, :, None] != 0, xt, 0)")
    assert transpose < select < text.index("lax.dot_general(xt_masked, kt")
