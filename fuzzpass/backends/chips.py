"""One TPU chip per worker process on a TPU host (``../shared/TPU-AOT.md``, "On a TPU host").

libtpu lets the first process that starts the TPU backend take every chip of the host; a
second one fails with "TPU already in use". The documented layout for independent
single-chip processes gives worker ``i`` chip ``i`` alone, process bounds of one chip and a
port of its own (``TPU_VISIBLE_CHIPS`` alone still collides on libtpu's lock). So a run's
parent never starts JAX: it counts the chips from their device files, and each worker sets
:func:`environment` before its JAX starts. The run on chips is TPU-only; the environment is
tested anywhere.
"""

from __future__ import annotations

import re
from pathlib import Path

PORT = 8476
"""libtpu's default process port: chip ``i``'s worker listens on ``PORT + i``."""


def count(dev: Path = Path("/dev")) -> int:
    """The TPU chips of this host, from their device files, without starting libtpu:
    ``/dev/accel<N>`` (TPU v4 and earlier, v5e) or ``/dev/vfio/<N>`` (v5p, v6e, tpu7x; ``vfio``
    itself is the control device)."""
    accel = [p for p in dev.glob("accel*") if re.fullmatch(r"accel\d+", p.name)]
    vfio = [p for p in (dev / "vfio").glob("*") if p.name.isdigit()] if (dev / "vfio").is_dir() else []
    return len(accel) or len(vfio)


def environment(chip: int) -> dict[str, str]:
    """What worker ``chip`` sets before JAX starts, so its libtpu sees that one chip alone."""
    port = PORT + chip
    return {
        "TPU_VISIBLE_CHIPS": str(chip),
        "TPU_PROCESS_BOUNDS": "1,1,1",
        "TPU_CHIPS_PER_PROCESS_BOUNDS": "1,1,1",
        "TPU_PROCESS_PORT": str(port),
        "TPU_PROCESS_ADDRESSES": f"localhost:{port}",
        "CLOUD_TPU_TASK_ID": "0",
    }


def unavailable(jobs: int | None, dev: Path = Path("/dev")) -> str | None:
    """Why a ``--backend tpu`` run of ``jobs`` workers (None: one per chip) cannot start here."""
    chips = count(dev)
    if chips == 0:
        return "no TPU chips on this host (no /dev/accel<N> or /dev/vfio/<N>)"
    if jobs is not None and jobs > chips:
        return f"--jobs {jobs} is more than this host's {chips} TPU chips (one worker owns one chip)"
    return None
