"""What deviceless TPU compiles concluded, kept on disk (``backends.outcomes``): a process that
starts with nothing in memory reads an outcome another compiled, a rejection with its message
included; what a schedule-reading process needs it compiles; a damaged entry or another
compiler's costs a compile, never a result."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from fuzzpass.backends import outcomes, schedule, tpu_aot
from fuzzpass.backends.shelf import Shelf
from fuzzpass.core.case import Case
from fuzzpass.core.data import draw
from fuzzpass.judge.mutants import MUTANTS
from reference.compile import compile_variant
from tests.specs import dense_kv

CASE = Case("dense-kv", 7, dense_kv(), None)


@pytest.fixture
def kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Outcomes kept under a directory of this test, and nothing compiled in memory yet."""
    monkeypatch.setattr(outcomes, "shelf", Shelf(outcomes.FORMAT, ".json"))
    outcomes.keep_in(tmp_path / "outcomes")
    yield tmp_path / "outcomes"


def compile_as_a_new_process(variant: str = "deferred", generation: str = "v6e") -> tpu_aot.Compiled:
    """One variant of the dense-KV case compiled as a process with an empty memory would."""
    tpu_aot._compile.cache_clear()
    if variant == "bool-remask":
        source = MUTANTS["bool-remask"].compile(CASE.spec, "bool-remask").source
    else:
        source = compile_variant(CASE.spec, "off" if variant == "eager" else "on").source
    return tpu_aot.compile_for(source, draw(CASE), CASE.spec.dtype, generation)


def entries(directory: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in directory.rglob("*.json")}


def test_an_outcome_is_read_back_instead_of_compiled(kept: Path) -> None:
    first = compile_as_a_new_process()
    assert first.ok and not first.kept and len(entries(kept)) == 1
    written = entries(kept)
    again = compile_as_a_new_process()
    assert again.kept and (again.ok, again.message, again.bundles) == (first.ok, first.message, first.bundles)
    assert entries(kept) == written  # read, not written again
    other = compile_as_a_new_process(generation="v5e")
    assert not other.kept and len(entries(kept)) == 2  # another generation is another compile


def test_a_rejection_is_kept_with_its_message(kept: Path) -> None:
    first = compile_as_a_new_process("bool-remask")
    assert not first.ok and first.message
    again = compile_as_a_new_process("bool-remask")
    assert again.kept and not again.ok and again.message == first.message


def test_a_process_reading_schedules_compiles_what_was_kept_without_one(
    kept: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    schedule.enable()  # this process dumps schedules (as a --check-gate worker does)
    with monkeypatch.context() as m:
        m.setattr(schedule, "_directory", None)  # ... and one that does not wrote the entry
        assert compile_as_a_new_process("eager").bundles is None
    needs = compile_as_a_new_process("eager")
    assert not needs.kept and needs.bundles
    again = compile_as_a_new_process("eager")
    assert again.kept and again.bundles == needs.bundles  # the entry now has the schedule


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],
        lambda blob: blob[:-2] + b"x}",
        lambda blob: b"fuzzpass-compile-outcome/0\n" + blob[len(outcomes.FORMAT) :],
        lambda blob: b"",
    ],
    ids=["truncated", "changed", "other-format", "empty"],
)
def test_a_damaged_entry_is_compiled_again_and_replaced(kept: Path, damage) -> None:  # type: ignore[no-untyped-def]
    first = compile_as_a_new_process()
    (entry,) = entries(kept)
    entry.write_bytes(damage(entry.read_bytes()))
    again = compile_as_a_new_process()
    assert not again.kept and again.ok == first.ok and again.bundles == first.bundles
    assert compile_as_a_new_process().kept  # replaced by a good one


def test_a_well_formed_entry_of_the_wrong_shape_is_a_miss(kept: Path) -> None:
    k = outcomes.key("program", "v6e")
    for payload in (b'{"ok": "yes", "message": "", "bundles": null}', b'{"ok": true}', b"[1, 2]"):
        outcomes.shelf.write(k, payload)
        assert outcomes.read(k, needs_schedule=False) is None


def test_the_key_separates_what_changes_the_outcome(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBTPU_INIT_ARGS", "--xla_jf_dump_to=/tmp/one --xla_jf_dump_llo_text=true")
    base = outcomes.key("program", "v6e")
    monkeypatch.setenv("LIBTPU_INIT_ARGS", "--xla_jf_dump_llo_text=true --xla_jf_dump_to=/tmp/two")
    assert outcomes.key("program", "v6e") == base  # the dump directory names a process, not a compile
    assert outcomes.key("program", "v5e") != base
    assert outcomes.key("program2", "v6e") != base
    monkeypatch.setenv("LIBTPU_INIT_ARGS", "--xla_jf_dump_llo_text=true --xla_tpu_some_flag=1")
    assert outcomes.key("program", "v6e") != base
    monkeypatch.setattr(outcomes, "_compiler", functools.cache(lambda: "jax 0 jaxlib 0 libtpu 0"))
    monkeypatch.setenv("LIBTPU_INIT_ARGS", "--xla_jf_dump_llo_text=true")
    assert outcomes.key("program", "v6e") != base


def test_a_function_without_a_program_text_is_kept_by_its_lowered_module(kept: Path) -> None:
    """Helion's kernels: fuzzpass did not write them, so the lowered module is what is known."""
    import jax.numpy as jnp

    def build() -> object:
        return lambda x: jnp.exp(x) * 2.0

    first = tpu_aot.compile_function(build, (((8, 128), "float32"),), "v6e")
    again = tpu_aot.compile_function(build, (((8, 128), "float32"),), "v6e")
    assert first.ok and not first.kept and again.kept and len(entries(kept)) == 1
    other = tpu_aot.compile_function(build, (((16, 128), "float32"),), "v6e")
    assert not other.kept


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_an_outcomes_argument_shapes_are_the_kernels_arguments_without_building_them(dtype: str) -> None:
    """``kernel.arg_shapes`` keys a kept outcome; it must name exactly the (shape, dtype) of
    what ``call_args`` would hand the kernel, or an outcome would be found for other arguments."""
    import dataclasses

    from fuzzpass.backends.kernel import arg_shapes, call_args

    case = Case("dense-kv", 7, dataclasses.replace(dense_kv(), dtype=dtype), None)
    source, data = compile_variant(case.spec).source, draw(case)
    built = tuple((tuple(a.shape), str(a.dtype)) for a in call_args(source, data, dtype))
    assert arg_shapes(source, data, dtype) == built and built[-1][1] == dtype
