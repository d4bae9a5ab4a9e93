"""The dense-KV benchmark that motivated the pass, as cases, and what each TPU generation's
compiler (static schedules) or a TPU host (timings) says about it.

Shapes (the pass's authors' TPU benchmark): H = 8 heads, D = 128, a dense KV of 128 rows, jagged
q lengths over B sequences; FLOPs = 4 * total_q * kv_len * H * D. Each configuration is a
shape (A: B = 256, B: B = 768), a length distribution and a q block. The kernel loads a q tile
``[t0, H, D]`` (tile major), transposes it to ``[H, t0, D]`` and contracts D with K: the gated
direction. Its slow-direction twin loads ``[H, t0, D]`` (tile on the sublane dim) and moves it
to a major dim before reducing over it: the direction the gate refuses.

Here (no TPU) the numbers are static schedule lengths (``backends/schedule.py``): evidence
about what the compiler makes cheaper, never a timing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from fuzzpass.core.case import Case
from reference.spec import KernelSpec, NodeSpec, TileSpec

H, D, KV = 8, 128, 128
SEQUENCES = {"A": 256, "B": 768}


@dataclass(frozen=True)
class Config:
    shape: str
    dist: str
    block: int
    before: float  # measured TFLOP/s on a TPU, pass off (quoted from the pass's authors)
    after: float  # ... pass on

    @property
    def name(self) -> str:
        return f"{self.shape}-{self.dist}-q{self.block}"


CONFIGS = (
    Config("A", "uniform", 4096, 200, 257),
    Config("A", "ramp", 1024, 142, 158),
    Config("A", "random", 4096, 150, 189),
    Config("B", "uniform", 4096, 213, 281),
    Config("B", "ramp", 1024, 156, 176),
    Config("B", "random", 4096, 159, 210),
)

DIRECTIONS = ("gated", "reverse")


def lengths(config: Config) -> tuple[int, ...]:
    """Jagged q lengths of ``config`` (seeded: the same on every machine)."""
    b, top = SEQUENCES[config.shape], config.block
    if config.dist == "uniform":
        return (top,) * b
    if config.dist == "ramp":
        return tuple(max(1, round(top * (i + 1) / b)) for i in range(b))
    return tuple(int(n) for n in np.random.default_rng(b).integers(1, top + 1, size=b))


def spec(config: Config, direction: str) -> KernelSpec:
    def node(op: str, out: str | None = None, **fields: object) -> NodeSpec:
        return NodeSpec(op, out, dict(fields))

    tiles = {"t0": TileSpec(config.block, lengths(config))}
    if direction == "gated":
        return KernelSpec(
            "bfloat16",
            tiles,
            {"q": ("t0", H, D), "k": (H, KV, D)},
            (
                node("load", "x", src="q"),
                node("permute", "xt", arg="x", dims=[1, 0, 2]),
                node("load", "kt", src="k"),
                node("dot_general", "s", lhs="xt", rhs="kt", contract=[[2], [2]], batch=[[0], [0]]),
                node("sum", "r", arg="s", axis=1),
                node("store", arg="r", dst="out"),
            ),
        )
    return KernelSpec(
        "bfloat16",
        tiles,
        {"q": (H, "t0", D)},
        (
            node("load", "x", src="q"),
            node("permute", "xt", arg="x", dims=[1, 0, 2]),
            node("sum", "r", arg="xt", axis=0),
            node("store", arg="r", dst="out"),
        ),
    )


def case(config: Config, direction: str) -> Case:
    return Case(f"dense-kv {config.name} ({direction})", 0, spec(config, direction), None)


def flops(config: Config) -> float:
    return 4.0 * sum(lengths(config)) * KV * H * D


@functools.cache
def static_counts(config: Config, direction: str, generations: tuple[str, ...], mutant: str | None = None) -> dict:
    """Scheduled bundles of the eager, deferred and forced kernels per generation (None where
    the compiler rejects one). Needs libtpu and ``schedule.enable()`` before JAX starts."""
    from fuzzpass.backends import tpu_aot
    from fuzzpass.core.data import CaseData
    from fuzzpass.judge.mutants import MUTANTS
    from reference.compile import compile_variant

    c = case(config, direction)
    one_item = CaseData({"q": np.zeros(_rows(c))} | ({"k": np.zeros((H, KV, D))} if direction == "gated" else {}),
                        {"t0": np.zeros(1, np.int32)}, {"t0": np.zeros(1, np.int32)})  # fmt: skip
    variants = {
        "eager": compile_variant(c.spec, "off"),
        "deferred": MUTANTS[mutant].compile(c.spec, "deferred") if mutant else compile_variant(c.spec, "on"),
        "forced": MUTANTS[mutant].compile_forced(c.spec, "forced") if mutant else compile_variant(c.spec, "force"),
    }
    return {
        gen: {name: tpu_aot.compile_for(v.source, one_item, "bfloat16", gen).bundles for name, v in variants.items()}
        for gen in generations
    }


@functools.cache
def wrong_kernels(config: Config, direction: str, mutant: str | None = None) -> dict[str, str]:
    """The variants (deferred, forced) whose numbers are wrong, each with its finding: run in
    interpret mode and judged against the float64 ground truth and the eager kernel
    (``judge.check.check_variants``), so that no benchmark times a wrong kernel. On three
    sequences of the configuration (a full block, a one-row partial block and its first
    length): the kernels are the full-size ones, the work items few enough to interpret. The
    padding past the inputs is finite: NaN there makes the eager kernel's own multiplicative
    mask NaN in every partial block (the hazard the fuzzer's NaN poison judges), which would
    hide a dropped mask in these reductions."""
    from fuzzpass.core.data import draw
    from fuzzpass.judge.check import check_variants
    from fuzzpass.judge.mutants import MUTANTS
    from reference.compile import compile_variant

    full = case(config, direction)
    sample = (config.block, 1, lengths(config)[0])
    small = Case(full.name, 0, replace(full.spec, tiles={"t0": TileSpec(config.block, sample)}), None)
    if mutant:
        kernels = {"deferred": MUTANTS[mutant].compile(small.spec, "deferred"),
                   "forced": MUTANTS[mutant].compile_forced(small.spec, "forced")}  # fmt: skip
    else:
        kernels = {"deferred": compile_variant(small.spec, "on"), "forced": compile_variant(small.spec, "force")}
    eager = compile_variant(small.spec, "off")
    _, found = check_variants(small, draw(small, "finite"), "finite", eager, kernels)
    return {f.variant or "": f"{f.kind.value}: {f.message}" for f in found}


def _rows(c: Case) -> tuple[int, ...]:
    """A q array of one block plus its DMA window: the kernel's shapes, whatever the lengths
    (a static schedule is one grid step)."""
    from reference.ops import memory

    shape = c.spec.block_shape(c.spec.inputs["q"])
    return tuple(s + p for s, p in zip(shape, memory.padding(c.spec, "q"), strict=True))


def table(rows: list[dict], direction: str = "gated") -> list[str]:
    """The benchmark table. Gated: the measured columns quoted, then per generation the speedup
    the static schedules imply (eager / deferred bundles). Reverse: per generation what
    forcing deferral would do (eager / forced bundles; the pass keeps the mask there)."""
    gens = list(rows[0]["static"]) if rows else []
    against, label = ("deferred", "static") if direction == "gated" else ("forced", "forced static")
    quoted = "| before | after | speedup (measured, quoted) " if direction == "gated" else ""
    head = f"| shape | dist | block {quoted}| " + " | ".join(f"{g} {label}" for g in gens)
    lines = [head + " |", "|" + " --- |" * (3 + (3 if quoted else 0) + len(gens))]
    for row in rows:
        c: Config = row["config"]
        cells = []
        for g in gens:
            e, d = row["static"][g]["eager"], row["static"][g][against]
            cells.append(f"{e / d:.2f}x" if e and d else "rejected")
        measured = f"| {c.before:g} | {c.after:g} | {c.after / c.before:.2f}x " if quoted else ""
        lines.append(
            f"| {c.shape} (B={SEQUENCES[c.shape]}) | {c.dist} | q{c.block} {measured}| " + " | ".join(cells) + " |"
        )
    return lines


def tpu_runner(c: Case, source: object) -> object:  # TPU-only
    """A zero-argument function that runs one variant over every work item on the TPU and
    waits for it: inputs are placed on the device once, so a call times the kernel alone."""
    import jax

    from fuzzpass.backends.kernel import bucketed_grid, call_args, jitted
    from fuzzpass.core.data import draw

    data = draw(c, "zero")
    call = jitted(source.text, bucketed_grid(data), None)  # type: ignore[attr-defined]
    args = [jax.device_put(a) for a in call_args(source, data, c.spec.dtype)]  # type: ignore[arg-type]
    return lambda: jax.block_until_ready(call(*args))


FOOTNOTE = (
    "before/after/speedup: TFLOP/s measured on a TPU by the pass's authors (quoted). '<gen> static': "
    "eager / deferred (reverse: eager / forced) scheduled bundles of one grid step from that generation's "
    "compiler, deviceless: static schedules, not timings. On a TPU host, `pytest tests/benchmarks "
    "--benchmark-only` times them."
)


def report(generations: tuple[str, ...], mutant: str | None, log: Callable[[str], None]) -> list[str]:
    """``fuzzpass bench``: both directions' tables for ``generations`` (``log`` hears what is
    being compiled, which takes minutes for the q4096 shapes)."""
    lines = []
    for direction in DIRECTIONS:
        rows = []
        for config in CONFIGS:
            log(f"compiling {config.name} ({direction}) for {', '.join(generations)}...")
            rows.append({"config": config, "static": static_counts(config, direction, generations, mutant)})
        title = "tile major -> sublane" if direction == "gated" else "the reverse twin"
        lines += ["", f"{direction} direction ({title}):", *table(rows, direction)]
    return [*lines, "", FOOTNOTE]
