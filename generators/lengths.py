"""Jagged sequence lengths from named distributions.

``uniform``, ``ramp`` and ``random`` are the distributions of the TPU benchmark that motivated
the pass (every sequence equally long; lengths rising linearly; independent lengths).
``boundary`` puts each length at ``length % block`` in {0, 1, block - 1}, where an off-by-one
in a mask shows; ``zero`` includes empty sequences (no work item at all); ``single`` is one
sequence (a plain, non-jagged dimension).

Lengths stay within a few blocks per sequence so that interpret mode runs a case in tens of
milliseconds; the bug classes this pass has live in the last, partial block of a sequence.
"""

from __future__ import annotations

from hypothesis import strategies as st

DISTRIBUTIONS = ("random", "uniform", "ramp", "boundary", "zero", "single")

MAX_SEQUENCES = 4
MAX_BLOCKS = 3  # per sequence


@st.composite
def jagged(draw: st.DrawFn, block: int, dist: str, max_items: int = 12) -> tuple[int, ...]:
    """Sequence lengths drawn from ``dist`` whose work items number at most ``max_items``."""
    top = MAX_BLOCKS * block
    n = draw(st.integers(1, MAX_SEQUENCES))
    if dist == "uniform":
        lengths = [draw(st.integers(1, top))] * n
    elif dist == "ramp":
        last = draw(st.integers(min(n, top), top))
        lengths = [round(last * (i + 1) / n) for i in range(n)]
    elif dist == "random":
        lengths = draw(st.lists(st.integers(0, top), min_size=n, max_size=n))
    elif dist == "boundary":
        lengths = [
            draw(st.integers(0, MAX_BLOCKS - 1)) * block + draw(st.sampled_from(sorted({block, 1, block - 1})))
            for _ in range(n)
        ]
    elif dist == "zero":
        lengths = draw(st.lists(st.integers(1, top), min_size=n, max_size=n))
        lengths.insert(draw(st.integers(0, n)), 0)
    elif dist == "single":
        lengths = [draw(st.integers(1, top))]
    else:
        raise ValueError(f"unknown length distribution {dist!r} (known: {', '.join(DISTRIBUTIONS)})")
    return _cap(lengths, block, max_items)


def _cap(lengths: list[int], block: int, max_items: int) -> tuple[int, ...]:
    """Drop trailing sequences until the grid along this tile fits ``max_items``."""
    while len(lengths) > 1 and sum(-(-n // block) for n in lengths) > max_items:
        lengths.pop()
    if -(-lengths[0] // block) > max_items:
        lengths[0] = max_items * block
    return tuple(lengths)
