"""Examples: one structure checked on several instances.

One example is one *structure* (everything a compiled kernel depends on: ops, block sizes,
plain dims, dtype) checked on several *instances* (jagged lengths and a data seed). Kernels
are compiled once per structure, so the instances after the first cost only their run; and the
bug classes of this pass live in how lengths cut blocks, which is what instances vary.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import assume
from hypothesis import strategies as st

from fuzzpass.core.case import Case
from generators.lengths import jagged
from generators.policies import Policy
from generators.realistic import realistic_structures
from generators.structures import Structure, structures, weighted

MAX_INSTANCES = 8
MAX_GRID = 16  # work items per example, over all tiles: interpret mode runs them one by one


def draws_ignore_local_code() -> None:
    """Same seed, same examples, whatever else the process imported.

    Now and then Hypothesis draws a number from the constants of the *local* modules imported
    so far (not in site-packages, not tests): with fuzzpass installed with ``-e``, its own
    modules; a ``--pass`` file; anything a user's process loaded first. The examples a seed
    draws then change with the import state and the install (a wheel's fuzzpass is in
    site-packages). Hypothesis has no setting for it (6.170), so its pool of local constants
    is kept empty; its pool of global constants (edge values of each type) stays."""
    from hypothesis.internal.conjecture import providers

    providers._get_local_constants = providers.Constants
    providers.CONSTANTS_CACHE.cache.clear()  # what earlier draws in this process took from the pool


draws_ignore_local_code()


@dataclass(frozen=True)
class Instance:
    """Concrete lengths per tile, the data seed, and the distribution each came from."""

    lengths: dict[str, tuple[int, ...]]
    seed: int
    distributions: dict[str, str]


@dataclass(frozen=True)
class Example:
    """One structure and the instances it is checked on."""

    structure: Structure
    instances: tuple[Instance, ...]

    def cases(self, name: str) -> list[Case]:
        """Each instance as a case file would hold it, with the oracle's ``expect``."""
        return [
            Case(f"{name}.{i}", inst.seed, self.structure.spec(inst.lengths), self.structure.expect_deferred)
            for i, inst in enumerate(self.instances)
        ]


@st.composite
def instances(draw: st.DrawFn, structure: Structure, policy: Policy) -> Instance:
    blocks = structure.blocks
    budget = MAX_GRID if len(blocks) == 1 else 4  # a 2-D grid is the product of both tiles
    lengths, dists = {}, {}
    for tile, block in blocks.items():
        dists[tile] = draw(weighted(policy.distributions))
        lengths[tile] = draw(jagged(block, dists[tile], max_items=budget))
    return Instance(lengths, draw(st.integers(0, 2**31 - 1)), dists)


def expressible(structure: Structure) -> bool:
    """Whether Helion's language can state ``structure`` (lengths do not change that)."""
    from reference.helion_codegen import helion_source
    from reference.ops.base import Inexpressible

    try:
        helion_source(structure.spec({t: (b,) for t, b in structure.blocks.items()}), "")
    except Inexpressible:
        return False
    return True


def buildable_on_tpu(structure: Structure) -> bool:
    """Whether Mosaic can build some kernel of ``structure`` (``reference.mosaic``)."""
    from reference import mosaic

    return mosaic.unsupported(structure.spec({t: (b,) for t, b in structure.blocks.items()})) is None


@st.composite
def examples(draw: st.DrawFn, policy: Policy, disabled: frozenset[str] = frozenset(), tpu: bool = False) -> Example:
    """A structure under ``policy`` without the ``disabled`` op kinds, and 1-8 instances;
    with ``tpu``, only structures the TPU compiler can build (for the TPU backends and the
    gate audit: a structure it cannot build would only be counted, never compiled)."""
    structure = draw(realistic_structures(policy) if policy.realistic else structures(policy, disabled))
    if policy.helion:
        assume(expressible(structure))
    if tpu:
        assume(buildable_on_tpu(structure))
    count = draw(st.integers(1, MAX_INSTANCES))
    return Example(structure, tuple(draw(instances(structure, policy)) for _ in range(count)))


@st.composite
def seeded(draw: st.DrawFn, seeds: tuple[Structure, ...], policy: Policy) -> Example:
    """A seed structure (a real kernel's, from the corpus) mutated where it does not change what
    the pass decides: the element type and each tile's block drawn from ``policy`` (or kept),
    then 1-8 instances of new lengths and data."""
    seed = draw(st.sampled_from(seeds))
    dtype = draw(st.sampled_from((seed.dtype, *(d for d, _ in policy.dtypes if d != seed.dtype))))
    blocks = {}
    for tile, block in seed.blocks.items():
        blocks[tile] = draw(st.sampled_from((block, *(int(c) for c, _ in policy.blocks if int(c) != block))))
    structure = Structure(dtype, blocks, seed.inputs, seed.graph, seed.expect)
    count = draw(st.integers(1, MAX_INSTANCES))
    return Example(structure, tuple(draw(instances(structure, policy)) for _ in range(count)))
