"""Recorded calls on disk: what running a file's tests leaves for the judges, and what lets a
second run under the same OUT judge only what is not judged yet.

::

    OUT/calls/<file stem>-<hash>/recorded.json      the file's events (entries, kernels skipped)
    OUT/calls/<file stem>-<hash>/<kernel>.<entry>.<n>/call.pkl    one call: its kernel and config
    OUT/calls/<file stem>-<hash>/<kernel>.<entry>.<n>/data.pt     its arguments and the file's reference
    OUT/calls/<file stem>-<hash>/<kernel>.<entry>.<n>/judged.json the kernel event its judge wrote

A call is pickled with ``cloudpickle``, its kernel's function by value (a kernel defined inside
a test has no importable name, and importing a test file again may skip itself or run code),
so a judge process never imports the file. ``cloudpickle`` renames the function's code file
``<dynamic-code>``; Helion reads a kernel's source through ``inspect``, so the file name is
kept beside it and put back. A record or verdict that cannot be read is one line naming the
file (:class:`Unreadable`), never a traceback.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fuzzpass.core.files import write_atomically
from fuzzpass.kernels.collect import checkout_root
from fuzzpass.kernels.record import Call

RECORDED = "recorded.json"
CALL = "call.pkl"
DATA = "data.pt"
FILES = (CALL, DATA)
"""A recorded call's files: the kernel and its config (``cloudpickle``), and its tensors
(``torch.save``: the one of the two that writes every dtype, float8 included)."""
JUDGED = "judged.json"


@dataclass(frozen=True)
class Settings:
    """What a call is judged with: TPU generations and the gate audit's judged generations
    (None: no audit). Kept in its verdict (``judged_with``): a verdict made with other
    settings is judged again."""

    generations: tuple[str, ...]
    gate: tuple[str, ...] | None

    def to_json(self) -> dict[str, Any]:
        return {"generations": list(self.generations), "gate": None if self.gate is None else list(self.gate)}

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Settings:
        gate = body.get("gate")
        return cls(tuple(body.get("generations") or ()), None if gate is None else tuple(gate))


class Unreadable(Exception):
    """A record under OUT/calls that cannot be read (a half-copied or hand-edited OUT)."""


def file_dir(out: Path, file: str) -> Path:
    """Where one kernel file's calls live: its stem and a hash of its path (two ``test.py``)."""
    path = Path(file)
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    return out / "calls" / f"{path.stem}-{digest}"


@dataclass(frozen=True)
class Stored:
    """One recorded call on disk: its folder, the file and the kernel's name."""

    folder: Path
    file: str
    kernel: str

    @property
    def judged(self) -> Path:
        return self.folder / JUDGED


def write_call(out: Path, file: str, name: str, number: str, call: Call) -> Stored:
    """Write ``call`` into its folder (the kernel's function by value, see :data:`FILES`)."""
    import cloudpickle
    import torch

    kernel = call.kernel
    module = sys.modules.get(getattr(kernel.fn, "__module__", ""), None)
    folder = file_dir(out, file) / f"{name}.{number}"
    record = {
        "file": file,
        "kernel": name,
        "entry": call.entry,
        "fn": kernel.fn,
        "code_file": kernel.fn.__code__.co_filename,
        "configs": kernel.configs,
        "settings": kernel.settings,
        "config": call.config,
        "tolerance": call.tolerance,
    }
    if module is not None:
        cloudpickle.register_pickle_by_value(module)
    try:
        blob = cloudpickle.dumps(record)
    finally:
        if module is not None:
            cloudpickle.unregister_pickle_by_value(module)
    data = io.BytesIO()
    torch.save({"args": call.args, "reference": call.reference}, data)
    write_atomically(folder / DATA, data.getvalue())
    write_atomically(folder / CALL, blob)
    return Stored(folder, file, name)


def read_call(folder: Path) -> tuple[str, str, Call]:
    """The file, kernel name and call pickled in ``folder``, its kernel made again."""
    import torch
    from helion.runtime.kernel import Kernel

    record: dict[str, Any] = {}
    for name in FILES:
        try:
            loaded = (folder / name).read_bytes()
            record.update(pickle.loads(loaded) if name == CALL else torch.load(io.BytesIO(loaded), weights_only=False))
        except Exception as e:
            raise Unreadable(f"{folder / name}: cannot be read ({type(e).__name__}: {e})") from e
    root = str(checkout_root(Path(record["file"])))
    if root not in sys.path:  # what the kernel's module imported by name resolves as in its file
        sys.path.insert(0, root)
    fn = in_a_module(record["fn"], record["code_file"])
    kernel = Kernel(fn, configs=record["configs"], settings=record["settings"])
    call = Call(kernel, record["args"], record["config"], record["entry"], None, record["reference"])
    call.tolerance = record["tolerance"]
    return record["file"], record["kernel"], call


def in_a_module(fn: Any, code_file: str) -> Any:
    """``fn`` as unpickled (its globals a bare dict, its code file ``<dynamic-code>``) made a
    function of a module again: Helion resolves a kernel's globals through
    ``sys.modules[fn.__globals__["__name__"]]`` and requires that module's dict to be the
    function's globals. The module is the recorded file's name, registered here (a judging
    process never imports the file itself)."""
    name = fn.__globals__.get("__name__") or fn.__module__
    module = sys.modules.get(name)
    if module is None or getattr(module, "__fuzzpass_recorded__", False):
        module = types.ModuleType(name)
        module.__file__ = code_file
        module.__fuzzpass_recorded__ = True  # type: ignore[attr-defined]
        sys.modules[name] = module
    for key, value in fn.__globals__.items():
        module.__dict__.setdefault(key, value)
    rebuilt = types.FunctionType(
        fn.__code__.replace(co_filename=code_file), module.__dict__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    rebuilt.__kwdefaults__, rebuilt.__qualname__, rebuilt.__module__ = fn.__kwdefaults__, fn.__qualname__, name
    rebuilt.__annotations__, rebuilt.__dict__ = fn.__annotations__, dict(fn.__dict__)
    return rebuilt


def write_recorded(out: Path, file: str, events: list[dict[str, Any]], calls: list[str], seed: int) -> None:
    """A file's record is complete: its events and the folders of its calls (by name)."""
    body = {"file": file, "seed": seed, "events": events, "calls": calls}
    write_atomically(file_dir(out, file) / RECORDED, json.dumps(body, indent=1, default=str))


def read_json(path: Path) -> dict[str, Any] | None:
    """A record or verdict, or None where there is none yet."""
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise Unreadable(f"{path}: not a JSON record ({e}); delete it to record or judge that again") from e
    if not isinstance(body, dict):
        raise Unreadable(f"{path}: not a JSON object; delete it to record or judge that again")
    return body


def recorded(out: Path, file: str, seed: int) -> dict[str, Any] | None:
    """The file's record from an earlier run with the same seed, or None (record it)."""
    body = read_json(file_dir(out, file) / RECORDED)
    return body if body is not None and body.get("seed") == seed else None


def stored_calls(out: Path, record: dict[str, Any]) -> list[Stored]:
    folder = file_dir(out, record["file"])
    return [Stored(folder / name, record["file"], name.rsplit(".", 2)[0]) for name in record["calls"]]


def write_judged(stored: Stored, event: dict[str, Any]) -> None:
    write_atomically(stored.judged, json.dumps(event, default=str))
