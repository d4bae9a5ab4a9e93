"""Finding a file's Helion kernels and running what the file itself runs, to catch their calls.

A path is a kernel file, a directory (every ``*.py`` below it, in order) or a pytest file of a
Helion checkout. A file is imported as a module of its checkout (the checkout's root on
``sys.path``, so ``from examples.geglu import ...`` resolves as in Helion's own CI), then its
*entry points* run under a :class:`~fuzzpass.kernels.record.Recorder`:

- each test of a ``unittest.TestCase`` it defines (through unittest, so Helion's own skip and
  xfail decorators apply), and each argument-less module-level ``test_*`` function;
- otherwise its ``main()``, as an example is run.

Every ``helion.kernel`` the module defines at top level is *found*, whether or not an entry
binds it; kernels defined inside a test are found when the test calls them. A file that does
not import, an entry that fails or skips, is one line, never a traceback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import signal
import sys
import unittest
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.kernels.record import Recorder


class Unreadable(Exception):
    """A path that names no Python file or directory: one line, naming the path (exit 2)."""


def kernel_files(paths: list[str]) -> list[Path]:
    """The ``*.py`` files the paths name, each once, in the order given (a directory sorted)."""
    files: list[Path] = []
    for text in paths:
        path = Path(text).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.py") if not any(part.startswith(".") for part in p.parts))
        elif path.is_file() and path.suffix == ".py":
            found = [path]
        else:
            raise Unreadable(f"{text}: not a Python file or a directory")
        files += [p.resolve() for p in found if p.resolve() not in files]
    return files


def checkout_root(path: Path) -> Path:
    """The directory a file's imports are relative to: the nearest parent holding a
    ``pyproject.toml``, ``setup.py`` or ``.git`` (a Helion checkout), else the file's folder."""
    for parent in path.parents:
        if any((parent / marker).exists() for marker in ("pyproject.toml", "setup.py", ".git")):
            return parent
    return path.parent


def module_name(path: Path) -> str:
    root = checkout_root(path)
    return ".".join(path.relative_to(root).with_suffix("").parts)


def one_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {lines[0] if lines else ''}"[:240]


def load(path: Path) -> tuple[Any, str | None]:
    """Import ``path`` as its checkout's module (so its relative imports and ``examples.*``
    resolve); :class:`ImportError`-like failures are the caller's one line.

    A Helion test file that skips itself in interpret mode (its kernels are TPU-only) is
    imported again as on a TPU (``helion_patches.as_on_a_tpu``), and its tests will run in
    TPU interpret mode: the second value says so, with the file's reason; None otherwise."""
    from fuzzpass.backends import helion_patches

    try:
        return _import(path), None
    except BaseException as e:
        if not helion_patches.skipped_itself(e):
            raise
        reason = one_line(e)
    with helion_patches.as_on_a_tpu():
        module = _import(path)
    helion_patches.restore_gates(module)
    return module, f"it skips itself in interpret mode ({reason}): imported as on a TPU, run in TPU interpret mode"


def _import(path: Path) -> Any:
    import helion  # noqa: F401  (the installed Helion, imported before a checkout's root shadows it)

    root = str(checkout_root(path))
    if root not in sys.path:
        sys.path.insert(0, root)
    name = module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        with quiet():
            spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """What a file prints while it runs (examples print tables) is not ours to show."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        yield


def defined_kernels(module: Any) -> dict[str, Any]:
    """The ``helion.kernel`` objects ``module`` defines at top level, by name."""
    from helion.runtime.kernel import Kernel

    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, Kernel) and getattr(value.fn, "__module__", None) == module.__name__
    }


@dataclass
class Entry:
    """One thing the file runs: a test, or ``main``. ``anyway``: the test's body without its
    skip decorator, for a test that skips here (see :func:`run_skipped`)."""

    name: str
    run: Any  # () -> (outcome, reason)
    anyway: Any = None


def entries(module: Any) -> list[Entry]:
    """The file's tests (unittest methods and argument-less ``test_*`` functions); if it has
    none, its argument-less ``main``."""
    found = []
    for name, value in vars(module).items():
        if isinstance(value, type) and issubclass(value, unittest.TestCase) and value.__module__ == module.__name__:
            for test in unittest.defaultTestLoader.getTestCaseNames(value):
                found.append(Entry(f"{name}.{test}", _unittest(value, test), _unskipped(value, test)))
        elif _plain_test(name, value, module.__name__):
            found.append(Entry(name, _plain(value)))
    if not found and inspect.isfunction(main := getattr(module, "main", None)) and not _required(main):
        found.append(Entry("main", _plain(main)))
    return found


def _plain_test(name: str, value: Any, module: str) -> bool:
    """A module-level ``test_*`` function of ``module`` that takes no argument (no fixtures)."""
    return (
        name.startswith("test_") and inspect.isfunction(value) and value.__module__ == module and not _required(value)
    )


def _required(fn: Any) -> bool:
    params = inspect.signature(fn).parameters.values()
    return any(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def _unittest(cls: type, test: str) -> Any:
    def run() -> tuple[str, str]:
        result = unittest.TestResult()
        with quiet():
            cls(test).run(result)
        for outcome, items in (("failed", result.errors + result.failures), ("skipped", result.skipped)):
            if items:
                detail = items[0][1].strip().splitlines()
                return outcome, (detail[-1] if detail else "")[:240]
        if result.expectedFailures:
            return "xfail", ""
        return "passed", ""

    return run


def _unskipped(cls: type, test: str) -> Any:
    """The test's body with its decorators peeled (``functools.wraps`` layers), run between
    its ``setUp`` and ``tearDown``; None for a test with no decorator."""
    method = getattr(cls, test)
    if not hasattr(method, "__wrapped__"):
        return None
    body = inspect.unwrap(method)

    def run() -> tuple[str, str]:
        case = cls(test)
        try:
            with quiet():
                case.setUp()
                try:
                    body(case)
                finally:
                    case.tearDown()
        except BaseException as e:  # a body Helion skips here may well fail: its calls are what count
            return "failed", one_line(e)
        return "passed", ""

    return run


def _plain(fn: Any) -> Any:
    def run() -> tuple[str, str]:
        try:
            with quiet():
                fn()
        except unittest.SkipTest as e:
            return "skipped", one_line(e)
        except SystemExit as e:
            return ("passed", "") if not e.code else ("failed", f"SystemExit: {e.code}")
        except Exception as e:
            return "failed", one_line(e)
        return "passed", ""

    return run


def run_entry(entry: Entry, recorder: Recorder, anyway: bool = False, tpu: bool = False) -> tuple[str, str]:
    """Run one entry under ``recorder``: its outcome (passed, failed, skipped, xfail) and why;
    with ``anyway``, its body without its skip decorator (:func:`run_skipped`); with ``tpu``,
    in TPU interpret mode (``helion_patches.tpu_interpret``)."""
    from fuzzpass.backends import helion_patches

    recorder.entry = entry.name
    interpreter = helion_patches.tpu_interpret() if tpu else contextlib.nullcontext()
    with recorder.recording():
        try:
            with interpreter:
                return (entry.anyway if anyway else entry.run)()
        except Exception as e:  # unittest catches a test's own; this is the harness around it
            return "failed", one_line(e)


def run_skipped(entry: Entry, recorder: Recorder) -> str | None:
    """A test that skips here (Helion skips its TPU-only tests in interpret mode, the pass's
    own deferral tests among them) still gives its kernel the inputs it was written for: its
    body runs without the skip, in TPU interpret mode (which runs what plain interpret mode
    cannot), after every other entry, and the calls it makes are recorded with the reference
    it compares them with. The outcome, prefixed ``skipped, run anyway: ``; None for a test
    with no decorator to peel."""
    if entry.anyway is None:
        return None
    with time_limit(ANYWAY_SECONDS):  # a TPU-only body may wait for a device that never answers
        outcome, _ = run_entry(entry, recorder, anyway=True, tpu=True)
    return f"skipped, run anyway: {outcome}"


ANYWAY_SECONDS = 120
"""How long a skipped test's body may run anyway: its calls are made early, its waits are not ours."""


class OutOfTime(Exception):
    """The block under :func:`time_limit` ran past its seconds."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`OutOfTime` in the block once it has run ``seconds`` (SIGALRM: a long C call
    is interrupted when it returns to Python). The worker's own limit, well inside the parent's
    ``--timeout``: a slow test or kernel costs itself, not a restart that runs the file's
    entries again and may give the file up."""

    def out_of_time(signum: int, frame: Any) -> None:
        raise OutOfTime(f"ran past {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
