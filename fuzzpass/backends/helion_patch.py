"""A candidate pass as a patch against the installed Helion, and Helion run with it applied.

``fuzzpass propose`` turns a candidate's ``helion_edits`` ((old, new) text pairs on
``helion/_compiler/node_masking.py``) into a unified diff a Helion developer applies with
``patch -p1`` from ``site-packages``. ``fuzzpass run --backend helion --helion-patch FILE`` runs
the differential against Helion with that diff applied: the installed package is copied under
the run's directory (or the ``--helion`` it names), the diff applied there (``whatthepatch``),
and that copy is what every worker imports (``backends.helions``), so the installed
Helion is never changed.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.util
import shutil
from pathlib import Path

from fuzzpass.backends import helions
from fuzzpass.backends.helions import Helion

TARGET = "helion/_compiler/node_masking.py"
"""The file a candidate's edits change, relative to ``site-packages``."""


class PatchError(ValueError):
    """A patch that cannot be made or applied, in one line naming the file and the edit."""


def installed_root() -> Path:
    """The directory holding the installed ``helion`` package (found without importing it)."""
    spec = importlib.util.find_spec("helion")
    if spec is None or spec.origin is None:
        raise PatchError("helion is not installed (pip install 'fuzzpass[helion]')")
    return Path(spec.origin).parent.parent


def make_patch(edits: tuple[tuple[str, str], ...], root: Path | None = None) -> str:
    """The unified diff that makes ``edits`` to the installed ``node_masking.py``; each old text
    must occur exactly once (else this Helion is not the one the candidate was written for)."""
    path = (root or installed_root()) / TARGET
    before = path.read_text()
    after = before
    for i, (old, new) in enumerate(edits):
        if (n := after.count(old)) != 1:
            first = old.strip().splitlines()[0][:60]
            raise PatchError(f"helion_edits[{i}]: {first!r} occurs {n} times in {path}, not once")
        after = after.replace(old, new)
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{TARGET}", f"b/{TARGET}"
        )
    )


def proposal(deferral: object, name: str) -> str:
    """The diff a candidate pass (its ``MaskDeferral``, named ``name`` in errors) proposes:
    its ``helion_edits`` made to the installed ``node_masking.py``."""
    edits = getattr(deferral, "helion_edits", None)
    if not edits:
        raise PatchError(f"{name}: the class has no helion_edits (its change to Helion)")
    return make_patch(edits)


def apply_patch(diff: str, text: str) -> str:
    """``text`` with the unified diff ``diff`` applied (one file's diff)."""
    import whatthepatch

    patches = list(whatthepatch.parse_patch(diff))
    if len(patches) != 1 or not patches[0].changes:
        raise PatchError(f"--helion-patch: expected the diff of one file, found {len(patches)}")
    try:
        lines = whatthepatch.apply_diff(patches[0], text)
    except whatthepatch.exceptions.HunkApplyException as e:
        raise PatchError(f"--helion-patch: it does not apply to the installed {TARGET}: {e}") from None
    return "\n".join(lines) + "\n"


def patched_copy(diff_file: Path, dest: Path, source: Helion | None = None) -> str:
    """Copy ``source`` (default: the installed Helion) under ``dest``, apply ``diff_file`` to
    it, make it the Helion of the workers and return the diff's sha256 (what a finding records)."""
    try:
        diff = diff_file.read_text()
    except OSError as e:
        raise PatchError(f"--helion-patch {diff_file}: {e.strerror or e}") from None
    target = dest / "helion"
    if target.exists():
        shutil.rmtree(target)
    source = source or helions.installed()
    shutil.copytree((source.root or installed_root()) / "helion", target, ignore=shutil.ignore_patterns("__pycache__"))
    path = dest / TARGET
    path.write_text(apply_patch(diff, path.read_text()))
    digest = hashlib.sha256(diff.encode()).hexdigest()
    patched = Helion(dest, f"{source.label} with --helion-patch (sha256 {digest[:12]})")
    (dest / helions.LABEL_FILE).write_text(patched.label + "\n")
    patched.select()
    return digest
