"""Catching what a kernel file gives its kernels: the arguments, the config, and the file's own
reference for the result.

A Helion test binds its kernel through ``code_and_output(kernel, args, **config)`` or calls it
directly; an example calls it from ``main`` and checks it with ``run_example(kernel, baseline,
args)`` or ``torch.testing.assert_close``. All of them end in two methods of Helion's runtime:
``Kernel.bind(args)`` (what the kernel is called on) and ``BoundKernel.compile_config(config)``
(which config it runs); a test that only reads the generated code ends in
``BoundKernel.to_code(config)`` (a call with no result). :class:`Recorder` wraps the three
while a file's entry points run, and wraps ``torch.testing.assert_close`` to keep the expected
value a file compares a recorded result with: that is the file's own reference for that call.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

MAX_CALLS = 2
"""Calls kept per kernel (distinct argument shapes or configs): a test sweeping twenty block
sizes is checked on its first two."""


@dataclass
class Call:
    """One call of a kernel as its file made it: the arguments (copied before the call ran), the
    config, the entry point that made it, and the file's reference result if it compared one."""

    kernel: Any
    args: tuple[Any, ...]
    config: Any
    entry: str
    result: Any = None
    reference: Any = None
    tolerance: dict[str, float] = field(default_factory=dict)


def clone(value: Any) -> Any:
    """A deep enough copy of a kernel argument: tensors detached and cloned (a kernel may write
    its outputs into them), containers copied, the rest shared."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, (list, tuple)):
        return type(value)(clone(v) for v in value)
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    return value


def shape_key(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """What distinguishes two calls of one kernel for checking: tensors' shapes and dtypes,
    other arguments by value."""
    import torch

    return tuple((tuple(a.shape), str(a.dtype)) if isinstance(a, torch.Tensor) else repr(a)[:80] for a in args)


@dataclass
class Recorder:
    """The calls made while :meth:`recording` is active, per kernel (at most :data:`MAX_CALLS`)."""

    calls: dict[int, list[Call]] = field(default_factory=dict)
    kernels: dict[int, Any] = field(default_factory=dict)
    bind_errors: dict[int, BaseException] = field(default_factory=dict)
    """Per kernel, what Helion raised binding it or generating its code for a config
    (``Kernel.bind``, ``BoundKernel.compile_config``): Helion refusing the kernel here, a
    file's TPU-only kernel, an unsupported config. Reported where no call of it was kept."""
    entry: str = ""
    _pending: dict[int, tuple[Any, ...]] = field(default_factory=dict)
    _results: list[Call] = field(default_factory=list)
    _compiling: int = 0  # inside compile_config, whose own code generation is not another call

    def _bound(self, kernel: Any, bound: Any, args: tuple[Any, ...]) -> None:
        self.kernels[id(kernel)] = kernel
        self._pending[id(bound)] = clone(tuple(args))

    def _kept(self, bound: Any, config: Any) -> Call | None:
        """The call of ``bound`` with ``config``: kept already, kept now, or None (none kept:
        the kernel has its calls, or it was bound outside the recording)."""
        args = self._pending.get(id(bound))
        if args is None:
            return None
        kept = self.calls.setdefault(id(bound.kernel), [])
        key = (shape_key(args), str(config))
        for call in kept:
            if (shape_key(call.args), str(call.config)) == key:
                return call
        if len(kept) >= MAX_CALLS:
            return None
        kept.append(Call(bound.kernel, args, config, self.entry))
        return kept[-1]

    def _compiled(self, bound: Any, config: Any, compiled: Any) -> Any:
        call = self._kept(bound, config)
        if call is None or call.result is not None:
            return compiled

        @functools.wraps(compiled)
        def called(*a: Any, **kw: Any) -> Any:
            result = compiled(*a, **kw)
            if call.result is None:
                call.result = clone(result)
                self._results.append(call)
            return result

        return called

    def _compared(self, actual: Any, expected: Any, kwargs: dict[str, Any]) -> None:
        """``assert_close(actual, expected)``: if ``actual`` holds the values a recorded call
        returned, ``expected`` is the file's reference for that call."""
        for call in reversed(self._results):
            if call.reference is None and same_values(call.result, actual):
                call.reference = clone(expected)
                call.tolerance = {k: float(kwargs[k]) for k in ("rtol", "atol") if kwargs.get(k) is not None}
                return

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Helion's ``Kernel.bind``, ``BoundKernel.compile_config`` and ``to_code``, and
        torch's ``assert_close``, wrapped to feed this recorder, inside the block only
        (installed by :func:`~fuzzpass.backends.helion_patches.recording_calls`)."""
        from fuzzpass.backends.helion_patches import recording_calls

        with recording_calls(self._on_bind, self._on_compile, self._on_code, self._on_compared):
            yield

    def _on_bind(self, bind: Any, kernel: Any, args: Any, *a: Any, **kw: Any) -> Any:
        try:
            bound = bind(kernel, args, *a, **kw)
        except Exception as e:
            self.kernels[id(kernel)] = kernel
            self.bind_errors.setdefault(id(kernel), e)
            raise
        self._bound(kernel, bound, tuple(args))
        return bound

    def _on_compile(self, compile_config: Any, bound: Any, config: Any = None, *a: Any, **kw: Any) -> Any:
        self._compiling += 1
        try:
            compiled = compile_config(bound, config, *a, **kw)
        except Exception as e:
            self.bind_errors.setdefault(id(bound.kernel), e)
            raise
        finally:
            self._compiling -= 1
        return self._compiled(bound, config if config is not None else bound._implicit_config(), compiled)

    def _on_code(self, to_code: Any, bound: Any, config: Any = None, *a: Any, **kw: Any) -> Any:
        """A test that only reads the generated code (``to_code``, ``to_triton_code``) still
        gives its kernel arguments and a config: a call to judge, with no result."""
        if self._compiling:
            return to_code(bound, config, *a, **kw)
        try:
            code = to_code(bound, config, *a, **kw)
        except Exception as e:
            self.bind_errors.setdefault(id(bound.kernel), e)
            raise
        self._kept(bound, config if config is not None else bound._implicit_config())
        return code

    def _on_compared(self, assert_close: Any, actual: Any, expected: Any, *a: Any, **kw: Any) -> None:
        self._compared(actual, expected, kw)
        assert_close(actual, expected, *a, **kw)


def tensors(value: Any) -> list[Any]:
    """The tensors of a result, in order (a kernel returns a tensor or a tuple of them)."""
    import torch

    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in tensors(v)]
    return []


def same_values(result: Any, actual: Any) -> bool:
    """Whether ``actual`` is ``result`` (or its first tensor) by value, up to a dtype cast: a
    file often compares ``out.float()`` or ``out.cpu()``."""
    import torch

    ours, theirs = tensors(result), tensors(actual)
    if not ours or not theirs or len(theirs) > len(ours):
        return False
    for a, b in zip(ours, theirs, strict=False):
        if a.shape != b.shape:
            return False
        x, y = a.detach().to(torch.float64), b.detach().to(torch.float64)
        if not torch.allclose(x, y, rtol=1e-2, atol=1e-2, equal_nan=True):
            return False
    return True
