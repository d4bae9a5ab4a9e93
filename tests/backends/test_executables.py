"""Compiled generic-interpreter kernels kept by source (``backends.executables``): a fresh process
loads what another compiled instead of compiling it, gets the same numbers, and a corrupt,
foreign or unwritable cache costs a compile, never a result or a crash."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fuzzpass.backends import executables, interpret
from fuzzpass.backends.shelf import Shelf
from fuzzpass.core import profile
from fuzzpass.core.case import load_case
from fuzzpass.core.data import draw
from reference.compile import compile_variant
from tests.conftest import CONTRACT_CASES


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A cache directory for this test, and an empty memory: every call is a new process's."""
    monkeypatch.setattr(executables, "_loaded", OrderedDict())
    monkeypatch.setattr(executables, "shelf", Shelf(executables.FORMAT, ".bin"))
    executables.keep_in(tmp_path / "kernels")
    yield tmp_path / "kernels"


def run_once(interpreter: str = "generic") -> tuple[dict[str, np.ndarray], set[str]]:
    """The dense-KV case's deferred kernel, as a process that starts with nothing in memory
    runs it: its outputs and the profile stages it went through."""
    executables._loaded.clear()
    case = load_case(CONTRACT_CASES[0])
    source = compile_variant(case.spec, "on").source
    profile.take()
    outs = interpret.run(source, draw(case, "nan"), case.spec.dtype, interpreter)
    return outs, set(profile.take())


def entries(cache: Path) -> list[Path]:
    return sorted(cache.rglob("*.bin"))


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k], equal_nan=True) for k in a)


def test_a_second_process_loads_the_kernel_instead_of_compiling_it(cache: Path) -> None:
    first, stages = run_once()
    assert "interpret-compile" in stages and len(entries(cache)) == 1
    written = entries(cache)[0].stat().st_mtime_ns
    again, stages = run_once()
    assert "interpret-load" in stages and "interpret-compile" not in stages
    assert same(first, again)
    assert entries(cache)[0].stat().st_mtime_ns == written  # read, not written again


@pytest.mark.parametrize(
    "damage",
    [
        lambda blob: blob[: len(blob) // 2],  # truncated
        lambda blob: blob[:-1] + bytes([blob[-1] ^ 0xFF]),  # one byte of the executable flipped
        lambda blob: b"fuzzpass-executable/0\n" + blob[len(executables.FORMAT) :],  # another format
        lambda blob: b"",
    ],
    ids=["truncated", "flipped-byte", "other-format", "empty"],
)
def test_a_damaged_entry_is_compiled_again_and_replaced(cache: Path, damage) -> None:  # type: ignore[no-untyped-def]
    first, _ = run_once()
    entry = entries(cache)[0]
    entry.write_bytes(damage(entry.read_bytes()))
    again, stages = run_once()
    assert "interpret-compile" in stages and "interpret-load" not in stages
    assert same(first, again)
    _, stages = run_once()  # the entry was replaced by a good one
    assert "interpret-load" in stages


def test_the_key_separates_what_changes_the_program() -> None:
    args = [np.zeros((4,), np.int32), np.zeros((8, 128), np.float32)]
    base = executables.key("text", (4,), "generic", args)
    assert base == executables.key("text", (4,), "generic", [a.copy() for a in args])
    assert base != executables.key("text2", (4,), "generic", args)
    assert base != executables.key("text", (8,), "generic", args)
    assert base != executables.key("text", (4,), "tpu", args)
    assert base != executables.key("text", (4,), "generic", [args[0], np.zeros((8, 128), np.float16)])


def test_tpu_interpret_mode_is_kept_in_memory_only(cache: Path) -> None:
    run_once("tpu")
    assert entries(cache) == []  # it calls back into Python: nothing to serialize


def test_a_cache_that_cannot_be_written_costs_only_the_hits(cache: Path) -> None:
    blocked = cache.parent / "a-file"
    blocked.write_text("")
    executables.keep_in(blocked / "kernels")  # its directory cannot be made: every write fails
    first, stages = run_once()
    again, stages_again = run_once()
    assert "interpret-compile" in stages and "interpret-compile" in stages_again
    assert same(first, again) and not (blocked.parent / "kernels").exists()
