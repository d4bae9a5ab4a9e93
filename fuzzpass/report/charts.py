"""The report's charts, drawn by matplotlib as inline SVG: decision coverage, cases and findings
over the run's time, TPU compiles per generation, and the gate audit's scatter per generation.

Each function returns an SVG document, or None when the run has nothing to draw. The document
is ``Markup``: matplotlib escaped its text, so the page's templates put it in as it is. Text
stays text (``svg.fonttype: none``: no glyph outlines, no font to fetch), and ids are salted
with a constant, so the same run gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from markupsafe import Markup

from fuzzpass.judge.gate import GENERATIONS, MARGIN, choice_on, chosen_and_other

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "fuzzpass-report",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
PASS, FINDING, OTHER = "#3465a4", "#cc0000", "#8f8f8f"
KINDS = ("compiled", "rejected", "unsupported")  # a compile tally's counts per generation
NONE = {"eager": None, "deferred": None, "forced": None}  # a generation a gate record lacks


@contextmanager
def figure(width: float, height: float) -> Iterator[Any]:
    """A matplotlib figure outside pyplot (no global state, no GUI backend)."""
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE):
        yield Figure(figsize=(width, height), layout="constrained")


def svg(fig: Any) -> Markup:
    """The figure as an inline SVG document, trusted: matplotlib wrote it and escaped its text."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return Markup(text[text.index("<svg") :])  # the document's prolog is not needed inline


def coverage(branches: dict[str, int]) -> Markup | None:
    """A bar per branch of the pass: how many decisions took it (zero bars included)."""
    if not branches:
        return None
    with figure(6.5, 0.3 * len(branches) + 0.8) as fig:
        ax = fig.add_subplot()
        names = list(branches)[::-1]
        counts = [branches[n] for n in names]
        ax.barh(names, counts, color=[PASS if c else FINDING for c in counts])
        for y, c in enumerate(counts):
            ax.annotate(str(c), (c, y), xytext=(3, 0), textcoords="offset points", va="center")
        ax.set_xlabel("decisions")
        return svg(fig)


def timeline(points: Sequence[Sequence[float]]) -> Markup | None:
    """Cases checked and findings recorded over the run's seconds."""
    if len(points) < 2:
        return None
    seconds, cases, findings = zip(*points, strict=True)
    with figure(6.5, 2.4) as fig:
        ax = fig.add_subplot()
        ax.plot(seconds, cases, color=PASS, label="cases")
        ax.set_xlabel("seconds into the run")
        ax.set_ylabel("cases", color=PASS)
        right = ax.twinx()
        right.step(seconds, findings, where="post", color=FINDING, label="findings")
        right.set_ylabel("findings", color=FINDING)
        right.set_ylim(bottom=0, top=max(max(findings), 1) * 1.2)
        right.spines["right"].set_visible(True)
        return svg(fig)


def compiles(tallies: dict[str, dict[str, dict[str, Any]]]) -> Markup | None:
    """Per TPU generation, cases compiled, rejected as a finding, and rejected as a limit of
    codegen or Mosaic: one group of bars per generation, one panel per kernel source."""
    present = {name: t for name, t in tallies.items() if t and any(sum(g[k] for k in KINDS) for g in t.values())}
    if not present:
        return None
    with figure(6.5, 2.2 * len(present)) as fig:
        for i, (name, tally) in enumerate(present.items()):
            ax = fig.add_subplot(len(present), 1, i + 1)
            gens = [g for g in GENERATIONS if g in tally]
            for j, (kind, color) in enumerate(zip(KINDS, (PASS, FINDING, OTHER), strict=True)):
                ax.bar([x + 0.27 * (j - 1) for x in range(len(gens))], [tally[g][kind] for g in gens], 0.27,
                       color=color, label=kind)  # fmt: skip
            ax.set_xticks(range(len(gens)), gens)
            ax.set_ylabel("cases")
            ax.set_title(name, loc="left")
            ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
        return svg(fig)


def gate(records: list[dict[str, Any]], judged: Sequence[str] | None) -> Markup | None:
    """Per generation, each audited case as a point: the bundles of the other choice against
    those of the pass's choice (Helion's gate in its own colour where it was audited), the line
    of equal cost and the margin drawn; a point past the margin on a judged generation is a
    gate finding, and marked."""
    gens = [g for g in GENERATIONS if any(chosen_and_other(r["counts"].get(g, NONE), choice_on(r, g))[0]
                                          for r in records)]  # fmt: skip
    if not gens:
        return None
    columns = min(3, len(gens))
    rows = -(-len(gens) // columns)
    with figure(2.4 * columns, 2.4 * rows) as fig:
        for i, gen in enumerate(gens):
            ax = fig.add_subplot(rows, columns, i + 1)
            top = 1
            for by, marker in (("reference", "o"), ("helion", "s")):
                points = [chosen_and_other(r["counts"].get(gen, NONE), choice_on(r, gen)) for r in records
                          if r.get("by", "reference") == by]  # fmt: skip
                points = [(other, chosen) for chosen, other in points if chosen is not None and other is not None]
                if not points:
                    continue
                top = max(top, *(max(p) for p in points))
                beyond = [(x, y) for x, y in points if y > x * (1 + MARGIN) and (judged is None or gen in judged)]
                ax.scatter(*zip(*points, strict=True), s=10, marker=marker, alpha=0.6,
                           color=PASS if by == "reference" else OTHER, label=f"{by} ({len(points)})")  # fmt: skip
                if beyond:
                    ax.scatter(*zip(*beyond, strict=True), s=40, marker="x", color=FINDING,
                               label=f"{by}: gate finding ({len(beyond)})")  # fmt: skip
            ax.plot([0, top * 1.05], [0, top * 1.05], color="black", lw=0.6)
            ax.plot([0, top * 1.05], [0, top * 1.05 * (1 + MARGIN)], color=FINDING, lw=0.6, ls="--")
            ax.set_title(f"{gen}{'' if judged is None or gen in judged else ' (not judged)'}", loc="left")
            ax.set_xlabel("other choice (bundles)")
            ax.set_ylabel("pass's choice (bundles)")
            ax.legend(frameon=False, fontsize=7)
        return svg(fig)
