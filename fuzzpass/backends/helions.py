"""Which Helion the helion backend imports: the installed one, or one named by ``--helion``.

A Helion is a directory holding a ``helion`` package, put first on ``sys.path`` before
anything imports Helion. ``--helion`` names one three ways:

- a directory: a ``pip install --target`` tree, a copy (``--helion-patch`` makes one), or a
  checkout of Helion's repository (its root holds ``helion/``; Helion is pure Python, so a
  checkout is imported in place, nothing built);
- a released version (``1.5.0``): installed once, without dependencies, into fuzzpass's cache
  (``pip install --no-deps --target``), and reused by every later run;
- nothing: the installed Helion, which is never changed.

The choice travels to workers and child processes in the environment (:data:`ENV`), because
two Helions cannot share a process: both are the package ``helion``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ENV = "FUZZPASS_HELION"
"""The directory holding the ``helion`` package workers import (unset: the installed one)."""

LABEL_ENV = "FUZZPASS_HELION_LABEL"
"""What that Helion is called in summaries and findings (``1.5.0``, ``v1.4.0-12-gabc1234``)."""

LABEL_FILE = "fuzzpass-helion.txt"
"""Beside a copy fuzzpass made (``--helion-patch``): what that copy is, for a later ``--helion DIR``."""

PACKAGE = "helion"
"""The import name every Helion shares (why two cannot share a process)."""

RELEASE = re.compile(r"^\d+(\.\d+){1,2}([a-z]+\d*)?$")
"""A version as PyPI spells Helion's releases."""


class HelionError(ValueError):
    """A ``--helion`` that names no Helion: one line naming the option and the reason."""


@dataclass(frozen=True)
class Helion:
    """A Helion to import: the directory holding its package (None: the installed one) and
    what to call it."""

    root: Path | None
    label: str

    def env(self) -> dict[str, str]:
        """The environment a process needs to import this Helion (:func:`use` reads it)."""
        if self.root is None:
            return {ENV: "", LABEL_ENV: ""}
        return {ENV: str(self.root), LABEL_ENV: self.label}

    def to_json(self) -> dict[str, str | None]:
        return {"root": str(self.root) if self.root else None, "label": self.label}

    @classmethod
    def from_json(cls, data: dict[str, str | None]) -> Helion:
        root = data.get("root")
        return cls(Path(root) if root else None, str(data.get("label")))

    def select(self) -> None:
        """Make this the Helion of this process's workers and children (before any imports it)."""
        os.environ.update(self.env())


def cache_dir() -> Path:
    """Where released Helions are installed: ``$FUZZPASS_CACHE``, else the user's cache."""
    if where := os.environ.get("FUZZPASS_CACHE"):
        return Path(where)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fuzzpass"


def installed() -> Helion:
    """The Helion pip installed beside fuzzpass."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return Helion(None, version("helion"))
    except PackageNotFoundError:
        raise HelionError("helion is not installed (pip install 'fuzzpass[helion]')") from None


def resolve(spec: str, option: str = "--helion") -> Helion:
    """The Helion ``spec`` names (a directory, a released version, or ``installed``),
    installing a release into the cache the first time; :class:`HelionError` in one
    line otherwise."""
    if spec == "installed":
        return installed()
    path = Path(spec).expanduser()
    if path.is_dir():
        root = path.resolve()
        if not (root / "helion" / "__init__.py").is_file():
            raise HelionError(f"{option} {spec}: no helion/__init__.py in it (not a Helion package or checkout)")
        return Helion(root, version_of(root))
    if RELEASE.match(spec):
        return Helion(install(spec, option), spec)
    raise HelionError(f"{option} {spec}: neither a directory nor a release version such as 1.5.0")


def install(version: str, option: str = "--helion") -> Path:
    """Helion ``version`` under the cache, installed there once (no dependencies: the
    installed torch and JAX are the ones every Helion is tested with)."""
    root = cache_dir() / "helion" / version
    if (root / "helion" / "__init__.py").is_file():
        return root
    tmp = root.with_name(f".{version}.{os.getpid()}")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(tmp)]
    done = subprocess.run([*command, f"helion=={version}"], capture_output=True, text=True)
    if done.returncode != 0:
        said = next((line for line in reversed(done.stderr.splitlines()) if "ERROR" in line), done.stderr.strip())
        raise HelionError(f"{option} {version}: pip could not install it: {said[-200:]}")
    if root.exists():  # another process installed it meanwhile
        shutil.rmtree(tmp)
    else:
        tmp.replace(root)
    return root


def version_of(root: Path) -> str:
    """What to call the Helion in ``root``: what fuzzpass called a copy it made, its release
    (a ``helion-X.dist-info`` beside it), ``git describe`` of a checkout, or the directory's name."""
    if (root / LABEL_FILE).is_file():
        return (root / LABEL_FILE).read_text().strip()
    for info in sorted(root.glob("helion-*.dist-info")):
        return info.name.removeprefix("helion-").removesuffix(".dist-info")
    if (root / ".git").exists():  # a checkout or a worktree of one
        described = subprocess.run(
            ["git", "-C", str(root), "describe", "--tags", "--always", "--dirty"], capture_output=True, text=True
        )
        if described.returncode == 0:
            return described.stdout.strip()
    return root.name


def use() -> str | None:
    """Put the chosen Helion (:data:`ENV`) first on ``sys.path``; call before Helion is
    imported. Returns its directory, or None for the installed Helion."""
    where = os.environ.get(ENV)
    if not where:
        return None
    if where not in sys.path:
        if PACKAGE in sys.modules:
            raise HelionError(f"{ENV}: Helion was imported before {where} was put in its place")
        sys.path.insert(0, where)
    return where


def label() -> str:
    """What the Helion this process imports is called."""
    return current().label


def current() -> Helion:
    """The Helion this process imports (or would): what a finding records, so that ``fuzzpass
    minimize`` and ``export`` later import the same one."""
    if where := os.environ.get(ENV):
        return Helion(Path(where), os.environ.get(LABEL_ENV) or where)
    return installed()
