"""``--policy realistic`` (``generators/realistic.py``): the shapes attention and projection
kernels use, each within the VMEM every judged generation has, the ones that do not fit
refused by name, and the largest of each pattern compiled for v5e, v6e and tpu7x."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings

from fuzzpass.backends import tpu_aot
from fuzzpass.core.case import Case, parse_case
from fuzzpass.judge.gate import GENERATIONS
from generators.policies import POLICIES
from generators.realistic import PATTERNS, VMEM_BUDGET, Shape, build, fitted, realistic_structures, refused
from reference.compile import compile_variant

T = TypeVar("T")
REALISTIC = POLICIES["realistic"]
needs_libtpu = pytest.mark.skipif(tpu_aot.unavailable() is not None, reason="needs libtpu (the tpu extra)")


class First:
    """Choices that always take the first option: the policy's own order decides the draw."""

    def pick(self, options: Sequence[T]) -> T:
        return options[0]

    def weighted(self, weights: tuple[tuple[str, int], ...]) -> str:
        return weights[0][0]

    def integer(self, lo: int, hi: int) -> int:
        return lo

    def boolean(self) -> bool:
        return False

    def permutation(self, n: int) -> list[int]:
        return list(range(n))

    def percent(self, p: int) -> bool:
        return False


def largest(pattern: str, layout: str = "seq-major") -> Case:
    """The largest shape ``pattern`` can draw, fitted, as a case of one full and one partial block."""
    policy = dataclasses.replace(
        REALISTIC,
        consumers=((pattern, 1),),
        positions=((layout, 1),),
        dtypes=(("bfloat16", 1),),
        blocks=(("512", 1),),
        plain_dims=(16,),
        lane_dims=(256,),
        free_dims=(512,),
    )
    structure = build(First(), policy)
    block = structure.blocks["t0"]
    return Case(f"largest-{pattern}", 1, structure.spec({"t0": (block + 3,)}), structure.expect_deferred)


@settings(max_examples=80, database=None, suppress_health_check=list(HealthCheck), deadline=None)
@given(realistic_structures(REALISTIC))
def test_every_draw_has_a_real_kernels_dims(structure) -> None:  # type: ignore[no-untyped-def]
    block = structure.blocks["t0"]
    assert 64 <= block <= 512 and block % 16 == 0  # a multiple of every dtype's sublane packing
    (tiled,) = [s for s in structure.inputs.values() if s[0] == "t0" or (len(s) > 1 and s[1] == "t0")]
    heads = tiled[1] if tiled[0] == "t0" else tiled[0]
    assert heads in (1, 2, 4, 8, 16) and tiled[-1] in (64, 128, 256)
    assert structure.dtype in ("bfloat16", "float32")
    for shape in structure.inputs.values():
        assert all(d == "t0" or d >= 1 for d in shape)


def test_a_shape_past_the_vmem_budget_is_refused_heads_first() -> None:
    big = Shape("scores", "seq-major", "bfloat16", 512, 16, 256, 512)
    assert big.vmem() > VMEM_BUDGET
    smaller = fitted(big)
    assert smaller.vmem() <= VMEM_BUDGET < _with_heads(smaller, smaller.heads * 2).vmem()
    assert (smaller.block, smaller.head_dim, smaller.rows) == (512, 256, 512)
    listed = refused(REALISTIC)
    assert (big, smaller) in listed
    assert all(was.vmem() > VMEM_BUDGET >= now.vmem() for was, now in listed)
    assert not any(s.heads == 1 and s.block == 64 for s, _ in listed)  # the smallest always fits


def _with_heads(shape: Shape, heads: int) -> Shape:
    return dataclasses.replace(shape, heads=heads)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_oracle_defers_a_sequence_major_tile_the_permute_moves(pattern: str) -> None:
    case = largest(pattern)
    tiled = next(load for load, tiles in case.expect_deferred.items() if tiles)
    assert case.expect_deferred[tiled] == ("t0",)


def test_a_head_major_key_is_kept_by_the_positional_gate() -> None:
    case = largest("scores", "head-major")
    assert all(tiles == () for tiles in case.expect_deferred.values())


@needs_libtpu
@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_largest_of_each_pattern_compiles_for_v5e_v6e_and_tpu7x(pattern: str) -> None:
    """The kernel as drawn (eager, Helion's baseline) compiles on every judged generation. Its
    deferred and forced twins do too, but where Mosaic cannot broadcast a bfloat16 row of 512
    sublanes (the pass's realistic finding, in ``docs/performance.md``): the audit counts that
    as rejected, never as a shape that did not fit."""
    from fuzzpass.judge.check import check_case

    gens = ("v5e", "v6e", "tpu7x")
    result = check_case(largest(pattern), backend="tpu-aot", generations=gens, gate=gens)
    record = result.gate
    assert record is not None
    for gen in gens:
        assert record.counts[gen]["eager"], (gen, record.rejected[gen])
        rejected = record.rejected[gen]
        assert set(rejected) <= {"deferred", "forced"}, rejected
        assert all("Not implemented: Sublane broadcast" in message for message in rejected.values()), rejected


def test_a_realistic_run_says_how_many_shapes_it_refused() -> None:
    from fuzzpass.commands.fuzzing import refused_line

    said = refused_line("realistic")
    assert said is not None and said.startswith(f"{len(refused(REALISTIC))} realistic shapes need more than 16 MiB")
    assert "the largest: scores seq-major float32 block 512, 16 heads, head dim 256, 512 rows, 80 MiB" in said
    assert refused_line("mixed") is None


MISSES = sorted((Path(__file__).parent / "benchmarks" / "realistic").glob("*.json"))


@pytest.mark.parametrize("path", MISSES, ids=[p.stem for p in MISSES])
def test_each_benchmarked_miss_is_a_realistic_case_the_positional_gate_defers_as_its_file_says(path: Path) -> None:
    """``tests/benchmarks/realistic/`` (``bench/realistic_misses.py``): a TPU host times these
    outside CI, so here each must stay a case file the current harness reads, named for its
    file, whose recorded misses are generations, and whose recorded decision is still the
    reference pass's (a changed pass or codegen would time another kernel than was missed)."""
    data = json.loads(path.read_text())
    missed = data.pop("missed")
    case = parse_case(data)
    assert case.name == path.stem and missed and set(missed) <= set(GENERATIONS)
    deferred = compile_variant(case.spec).deferred()
    assert {load: tuple(tiles) for load, tiles in deferred.items()} == case.expect_deferred
