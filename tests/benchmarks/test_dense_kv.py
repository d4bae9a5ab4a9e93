"""The dense-KV benchmark (``fuzzpass/bench.py``): six configurations at full size and their
slow-direction twins, each variant (eager, deferred, forced) a pytest-benchmark.

On a TPU host each benchmark times the kernel over every work item (``block_until_ready``,
warm-up rounds); compare runs with ``--benchmark-compare --benchmark-compare-fail=median:5%``.
Here, with no TPU, each records the static schedule lengths per generation in
``benchmark.extra_info`` (static schedules, not timings) and times the harness itself: the
reference pipeline compiling that variant. Each ``deferred`` benchmark ends with the gating
check (``check_gate``); ``FUZZPASS_MUTANT=inverted-gate`` runs everything against the broken gate.
Before anything is timed or counted, the deferred and forced kernels are run in interpret mode
on poisoned data and judged against the float64 ground truth (``bench.wrong_kernels``):
``FUZZPASS_MUTANT=forced-drops-remask`` fails the forced benchmarks there.

``FUZZPASS_BENCH_GENERATIONS`` (comma-separated) chooses the generations: default v6e and tpu7x,
where the compiler agrees with the pass's authors' measurements (``../shared/TPU-AOT.md``).
"""

from __future__ import annotations

import os

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from fuzzpass.backends import tpu, tpu_aot
from fuzzpass.judge.gate import MARGIN
from fuzzpass.judge.mutants import MUTANTS
from fuzzpass.perf import bench
from reference.compile import Variant, compile_variant

GENERATIONS = tuple(os.environ.get("FUZZPASS_BENCH_GENERATIONS", "v6e,tpu7x").split(","))
MUTANT = os.environ.get("FUZZPASS_MUTANT") or None
ON_TPU = tpu.unavailable() is None
MODES = {"eager": "off", "deferred": "on", "forced": "force"}

pytestmark = pytest.mark.skipif(
    not ON_TPU and tpu_aot.unavailable() is not None, reason="needs a TPU host or libtpu (the tpu extra)"
)

CASES = [(c, d) for c in bench.CONFIGS for d in bench.DIRECTIONS]


def variant(config: bench.Config, direction: str, name: str) -> Variant:
    spec = bench.spec(config, direction)
    if name == "deferred" and MUTANT:
        return MUTANTS[MUTANT].compile(spec, "deferred")
    return compile_variant(spec, MODES[name])


@pytest.mark.parametrize("name", list(MODES))
@pytest.mark.parametrize(("config", "direction"), CASES, ids=[f"{c.name}-{d}" for c, d in CASES])
def test_dense_kv(benchmark: BenchmarkFixture, config: bench.Config, direction: str, name: str) -> None:
    benchmark.group = f"{config.name}-{direction}"
    benchmark.extra_info.update(config=config.name, direction=direction, variant=name, mutant=MUTANT)
    wrong = bench.wrong_kernels(config, direction, MUTANT)  # a wrong kernel's speed means nothing
    assert name not in wrong, f"{name}: {wrong[name]}"
    if ON_TPU:  # TPU-only: a timing
        run = bench.tpu_runner(bench.case(config, direction), variant(config, direction, name).source)
        benchmark.pedantic(run, rounds=20, warmup_rounds=3)
        benchmark.extra_info["tflops"] = bench.flops(config) / benchmark.stats.stats.median / 1e12
    else:
        benchmark(variant, config, direction, name)  # the harness: the reference pass and codegen
    if tpu_aot.unavailable() is not None:
        return  # a TPU host without the deviceless compiler: its timings stand alone
    counts = bench.static_counts(config, direction, GENERATIONS, MUTANT)  # on a TPU host too: the gate is checked
    benchmark.extra_info["static_bundles"] = {gen: counts[gen][name] for gen in GENERATIONS}
    assert any(counts[gen][name] for gen in GENERATIONS), f"no generation compiled {name}"
    if name == "deferred":
        check_gate(counts)


def check_gate(counts: dict[str, dict[str, int | None]]) -> None:
    """The gating check (static schedules): with the pass on, no configuration costs more
    than with it off, and where the pass defers, forcing costs no less (beyond the gate's
    margin); where it keeps the masks, forcing saves no more than the margin."""
    for gen, c in counts.items():
        eager, deferred, forced = c["eager"], c["deferred"], c["forced"]
        if eager is None or deferred is None or forced is None:
            continue  # the compiler rejects this size on this generation (scoped VMEM): nothing to gate
        assert deferred <= eager * (1 + MARGIN), f"{gen}: the pass costs {deferred} bundles, off {eager}"
        if deferred != eager:
            assert deferred <= forced * (1 + MARGIN), f"{gen}: deferred {deferred}, forced {forced}"
        else:
            assert forced >= eager * (1 - MARGIN), f"{gen}: the pass kept the mask; forcing saves: {forced} < {eager}"
