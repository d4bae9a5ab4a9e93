"""The positional gate's misses on realistic shapes (``--policy realistic``, ``docs/performance.md``),
one case file each in ``realistic/``: the kernels where the static schedules say the gate picked
the slower variant, so that a TPU host times them.

TPU-only: on a TPU host each variant (eager, deferred, forced) is timed over every work item,
as ``test_dense_kv.py`` times its configurations; compare the pass's choice with the other one
(``--benchmark-compare``). Here each records its static bundle counts per generation in
``benchmark.extra_info`` (static schedules, not timings) and times the harness compiling it.
Each case file names, in ``missed``, the generations whose schedules disagreed with the gate when
the run found it (``docs/performance.md`` says which run).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fuzzpass.backends import tpu, tpu_aot
from fuzzpass.core.case import parse_case
from fuzzpass.core.data import draw
from fuzzpass.perf import bench
from reference.compile import compile_variant

ON_TPU = tpu.unavailable() is None
MODES = {"eager": "off", "deferred": "on", "forced": "force"}
FILES = sorted((Path(__file__).parent / "realistic").glob("*.json"))

pytestmark = pytest.mark.skipif(
    not ON_TPU and tpu_aot.unavailable() is not None, reason="needs a TPU host or libtpu (the tpu extra)"
)


@pytest.mark.parametrize("name", list(MODES))
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_realistic_miss(benchmark: BenchmarkFixture, path: Path, name: str) -> None:
    data = json.loads(path.read_text())
    missed = data.pop("missed")
    case = parse_case(data)
    benchmark.group = path.stem
    benchmark.extra_info.update(case=path.stem, variant=name, missed=missed)
    variant = compile_variant(case.spec, MODES[name])
    if ON_TPU:  # TPU-only: a timing
        benchmark.pedantic(bench.tpu_runner(case, variant.source), rounds=20, warmup_rounds=3)
    else:
        benchmark(compile_variant, case.spec, MODES[name])  # the harness: the reference pass and codegen
    if tpu_aot.unavailable() is not None:
        return
    one = draw(case, "zero")
    counts = {gen: tpu_aot.compile_for(variant.source, one, case.spec.dtype, gen).bundles for gen in missed}
    benchmark.extra_info["static_bundles"] = counts
    assert any(counts.values()), f"no generation compiled {name}"
