"""What Helion's pass decided, read per ``pass_mode`` block: each block gets its own record,
blocks nest and give the outer mode back, and outside every block the pass runs as users run
it, recording nothing."""

from __future__ import annotations

import pytest

from fuzzpass.backends import helion, helion_bind
from fuzzpass.backends.helion_decisions import current_mode, pass_mode
from fuzzpass.backends.kernel import structural
from fuzzpass.core.case import Case
from fuzzpass.core.data import draw
from reference.helion_codegen import helion_source
from tests.specs import dense_kv

helion.prepare_environment()  # Helion's environment, before Helion is imported
pytest.importorskip("helion")


def fresh_bind() -> tuple[object, list[object]]:
    """A new kernel object of the dense-KV case (its pass runs at its first bind) and its arguments."""
    case = Case(name="t", seed=5, spec=dense_kv(), expect_deferred=None)
    source = helion_source(case.spec, case.name)
    kernel = helion_bind.kernel_object(structural(source.text), "on").kernel
    return helion_bind.copy_kernel(kernel), helion_bind.arguments(source, draw(case, "nan"), case.spec.dtype)


def test_the_pass_mode_is_restored_after_a_block_not_reset() -> None:
    with pass_mode("off"):
        with pass_mode("force"):
            assert current_mode() == "force"
        assert current_mode() == "off"  # the outer block's mode, not "on"
    assert current_mode() == "on"


def test_each_block_records_what_the_pass_decided_in_it_alone() -> None:
    kernel, args = fresh_bind()
    with pass_mode("off") as outer, pass_mode("on") as inner:
        kernel.bind(tuple(args))  # type: ignore[attr-defined]
    deferred = {load.node: load.deferred for load in inner.loads}
    assert deferred["x"] == ["t0"] and inner.graphs
    assert outer.loads == [] and outer.graphs == []


def test_outside_every_block_the_pass_runs_on_and_nothing_is_recorded() -> None:
    kernel, args = fresh_bind()
    bound = kernel.bind(tuple(args))  # type: ignore[attr-defined]
    assert "jnp.where" in bound.to_code()  # the deferred mask, re-applied after the transpose
    with pass_mode("on") as later:
        pass
    assert later.loads == []
