"""The compile cache under ``--out/cache``: JAX's persistent compilation cache where it can serve
a program (``--backend tpu``, a TPU client), fuzzpass's kernels by source for ``interpret``
(``tests/backends/test_executables.py``), the outcomes of deviceless compiles for ``tpu-aot``,
the gate audit and Helion (``tests/backends/test_outcomes.py``), refused with the measured
reason where nothing can be kept; a corrupt entry costs a compile, never a result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fuzzpass.backends import backend as named
from fuzzpass.backends import chips
from fuzzpass.backends.environment import compile_cache_unused

PROGRAM = """
import sys, warnings
from pathlib import Path
import jax, jax.numpy as jnp
from fuzzpass.backends.environment import use_compile_cache
assert use_compile_cache(Path(sys.argv[1]), "tpu") is None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(float(jax.jit(lambda x: (x * 3.0).sum())(jnp.arange(4.0))))
print(sum("persistent compilation cache" in str(w.message) for w in caught))
"""


def compile_once(cache: Path) -> tuple[str, int]:
    """A fresh process compiling one program with the cache as a ``--backend tpu`` worker sets
    it (the CPU has a client too): its result and how many cache warnings it raised."""
    run = subprocess.run([sys.executable, "-c", PROGRAM, str(cache)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result, warnings = run.stdout.split()
    return result, int(warnings)


def test_the_cache_is_refused_only_where_nothing_can_be_kept_and_says_why() -> None:
    for backend in ("interpret", "tpu-aot", "tpu", "helion"):
        for reads_schedules in (False, True):
            assert compile_cache_unused(backend, reads_schedules) is None
    assert "calls back into Python" in (compile_cache_unused("interpret-tpu", False) or "")
    assert compile_cache_unused("interpret-tpu", reads_schedules=True) is None  # the gate audit's compiles are kept


def test_a_second_process_reads_what_the_first_wrote_and_a_corrupt_entry_is_recompiled(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    assert compile_once(cache) == ("18.0", 0)
    entries = sorted(p for p in cache.iterdir() if p.name.endswith("-cache"))
    written = {p: p.stat().st_mtime_ns for p in entries}
    assert entries
    assert compile_once(cache) == ("18.0", 0)
    now = {p: p.stat().st_mtime_ns for p in cache.iterdir() if p.name.endswith("-cache")}
    assert now == written  # read back: no entry written again, none added
    for entry in entries:
        entry.write_bytes(b"not an executable")
    result, warned = compile_once(cache)
    assert result == "18.0" and warned >= 1  # a miss with JAX's warning, then a compile


@pytest.mark.parametrize("backend", ["interpret", "interpret-tpu"])
def test_a_run_records_where_its_cache_is_or_why_it_has_none(tmp_path: Path, backend: str) -> None:
    run = subprocess.run([sys.executable, "-m", "fuzzpass", "run", "--budget", "3cases", "--jobs", "1", "--seed", "1",
                          "--backend", backend, "--out", str(tmp_path), "--quiet", "--no-minimize"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    kernels = list((tmp_path / "cache" / "kernels").rglob("*.bin"))
    if backend == "interpret":
        assert summary["compile_cache"] == str(tmp_path / "cache") and kernels
    else:
        assert summary["compile_cache"] == f"unused: {named(backend).uncached}" and not kernels


def test_a_tpu_aot_rerun_reads_every_compile_back(tmp_path: Path) -> None:
    """The same cases again under the same ``--out``: every deviceless compile's outcome is read
    back (no entry written again, none added) and the run counts the same compiles."""
    command = [sys.executable, "-m", "fuzzpass", "run", "--backend", "tpu-aot", "--tpu", "v6e", "--budget", "6cases",
               "--jobs", "1", "--seed", "3", "--out", str(tmp_path), "--quiet", "--no-minimize"]  # fmt: skip
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    written = {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "outcomes").rglob("*.json")}
    assert summary["compile_cache"] == str(tmp_path / "cache") and written
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "cache" / "outcomes").rglob("*.json")} == written
    rerun = json.loads((tmp_path / "summary.json").read_text())
    assert rerun["cases"] == summary["cases"] and rerun["tpu_compile"] == summary["tpu_compile"]


@pytest.mark.skipif(chips.count() == 0, reason="TPU-only: needs a TPU host's chips")
def test_on_a_tpu_host_a_rerun_compiles_from_the_cache(tmp_path: Path) -> None:  # TPU-only
    command = [sys.executable, "-m", "fuzzpass", "run", "--backend", "tpu", "--budget", "20cases", "--seed", "1",
               "--out", str(tmp_path), "--quiet", "--no-minimize"]  # fmt: skip
    assert subprocess.run(command, capture_output=True, timeout=900).returncode == 0  # the real pass: no finding
    entries = set((tmp_path / "cache").iterdir())
    assert entries and json.loads((tmp_path / "summary.json").read_text())["compile_cache"] == str(tmp_path / "cache")
    assert subprocess.run(command, capture_output=True, timeout=900).returncode == 0  # the real pass: no finding
    assert set((tmp_path / "cache").iterdir()) == entries  # every program of the rerun was read back
