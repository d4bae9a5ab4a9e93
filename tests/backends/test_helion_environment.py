"""Helion's environment is set by a call, never by an import, and Helion imported before it under
another environment is an error in one line instead of kernels built for another backend."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("helion") is None, reason="needs helion (the helion extra)")

MODULES = ("helion", "helion_bind", "helion_decisions", "helion_patches", "helion_tpu", "helion_rules")


def python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter whose environment has no Helion or JAX setting but ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("HELION_", "JAX_PLATFORMS", "FUZZPASS_HELION"))}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=clean | env, timeout=300)


def test_importing_the_backend_sets_nothing_and_imports_no_helion() -> None:
    code = (
        "import os, sys\n"
        f"for m in {MODULES!r}: __import__('fuzzpass.backends.' + m)\n"
        "print('helion' in sys.modules, 'jax' in sys.modules, os.environ.get('HELION_BACKEND'))\n"
    )
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "None"]


def test_prepare_sets_helions_environment_and_may_be_called_again() -> None:
    code = (
        "import os\n"
        "from fuzzpass.backends import helion\n"
        "helion.prepare_environment()\n"
        "import helion as h\n"
        "helion.prepare_environment()\n"
        "print(*(os.environ[k] for k in ('HELION_BACKEND', 'HELION_PALLAS_INTERPRET', 'HELION_DISALLOW_AUTOTUNING', "
        "'JAX_PLATFORMS')))\n"
    )
    done = python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["pallas", "1", "1", "cpu"]


def test_helion_imported_first_is_refused_in_one_line() -> None:
    code = "import helion\nfrom fuzzpass.backends import helion as backend\nbackend.prepare_environment()\n"
    done = python(code)
    assert done.returncode != 0
    (last,) = done.stderr.strip().splitlines()[-1:]
    assert last.startswith("fuzzpass.backends.helion.HelionImportedEarly: Helion was imported before fuzzpass set")
    assert "HELION_BACKEND=None" in last and "call fuzzpass.backends.helion.prepare_environment()" in last


def test_helion_imported_first_under_the_environment_a_parent_set_is_fine() -> None:
    """A worker inherits what its parent prepared: Helion saw it, whatever imported it first."""
    code = "import helion\nfrom fuzzpass.backends import helion as backend\nbackend.prepare_environment()\n"
    done = python(code, HELION_BACKEND="pallas", HELION_PALLAS_INTERPRET="1", HELION_DISALLOW_AUTOTUNING="1")
    assert done.returncode == 0, done.stderr
