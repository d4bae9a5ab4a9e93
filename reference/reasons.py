"""Why the pass decided as it did for one (load, tile): the names its safety rules and its
gates share (``reference/defer.py``, ``reference/gates.py``)."""

from __future__ import annotations

from typing import Literal

Reason = Literal[
    "deferred",
    "mode-off",
    "rank-2",
    "last-two-at-load",
    "no-uses",
    "reshape",
    "nonzero-fill",
    "second-use",
    "tile-not-unique",
    "not-last-two-at-consumer",
    "axis-not-moved",
    "one-row-block",
    "select-too-large",
]
"""Why the pass decided as it did for one (load, tile): ``deferred``, or the first rule that
refused. Run summaries count these as the pass's decision coverage."""
