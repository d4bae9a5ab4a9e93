"""Every attribute of Helion that ``backends.helion_patches`` replaces is where the patch expects
it in the installed Helion, with the parameters the replacement takes: a Helion that moves one
fails here, naming it, before a run meets it. And each patch puts back what it replaced."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pytest

from fuzzpass.backends import helion_patches
from fuzzpass.backends.helion import prepare_environment
from fuzzpass.backends.helion_patches import TARGETS, Target

prepare_environment()  # Helion's environment, before Helion is imported
pytest.importorskip("helion")

PATCHES = ("wrap_pass", "forced_pass", "compile_once_per_shape", "poisoned_padding", "tpu_interpret",
           "as_on_a_tpu", "catching", "tpu_launcher", "recording_calls")  # fmt: skip
"""Every patch of the module: an installer, a context manager, or the forced copy of the pass."""


def resolve(target: Target) -> Any:
    value = importlib.import_module(target.module)
    for part in target.name.split("."):
        value = getattr(value, part)
    return value


def parameters(function: Any) -> tuple[str, ...]:
    """The parameters of Helion's function (the real one, where a patch here wrapped it)."""
    return tuple(inspect.signature(inspect.unwrap(function)).parameters)


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.by}:{t.name}")
def test_each_patched_attribute_exists_with_the_parameters_the_patch_expects(target: Target) -> None:
    try:
        value = resolve(target)
    except AttributeError:
        pytest.fail(f"{target.by}: {target.module} has no {target.name}")
    if target.parameters is not None or target.reads:
        assert callable(value), f"{target.module}.{target.name} is not a function"
        found = parameters(value)
        if target.parameters is not None:
            assert found == target.parameters, f"{target.module}.{target.name}{found}"
        assert set(target.reads) <= set(found), f"{target.module}.{target.name}{found} lacks {target.reads}"


def test_every_patch_names_what_it_relies_on() -> None:
    """Each patch of the module is in the table: a patch added without its entry fails here."""
    assert {t.by for t in TARGETS} == set(PATCHES)
    assert all(callable(getattr(helion_patches, name)) for name in PATCHES)
    launcher = {t.name for t in TARGETS if t.module == helion_patches.LAUNCHER}
    assert set(helion_patches.HOOKS) | set(helion_patches.PADDERS) <= launcher


def test_device_ir_calls_the_pass_by_the_name_it_imported() -> None:
    """``wrap_pass`` replaces the name in ``device_ir``: that works only while ``device_ir``
    imports the function and calls it by that name."""
    source = inspect.getsource(importlib.import_module(helion_patches.DEVICE_IR))
    assert "from .node_masking import defer_pallas_load_masks" in source
    assert "defer_pallas_load_masks(graph.graph)" in source


def test_the_padders_pad_through_the_module_attribute_the_poison_replaces() -> None:
    launcher = helion_patches.launcher_module()
    for name in helion_patches.PADDERS:
        assert "torch.nn.functional.pad(" in inspect.getsource(getattr(launcher, name)), name


def test_the_gate_predicates_are_closures_the_forced_copy_can_replace() -> None:
    from helion._compiler import node_masking

    assert helion_patches.gate_unavailable() is None
    real = node_masking.defer_pallas_load_masks.__code__
    nested = {c.co_name: c for c in real.co_consts if inspect.iscode(c)}
    for name in helion_patches.GATE:
        assert nested[name].co_varnames[: nested[name].co_argcount] == ("node", "block_id"), name
    forced = {c.co_name: c for c in helion_patches.forced_pass().__code__.co_consts if inspect.iscode(c)}
    assert all(forced[name] is not nested[name] for name in helion_patches.GATE)


def inside_only(launcher: Any) -> dict[str, Callable[[], bool]]:
    """Per context manager, what holds inside its block and not after it."""
    import helion.runtime.settings as settings

    padders = {n: getattr(launcher, n) for n in helion_patches.PADDERS}
    return {
        "poisoned_padding": lambda: all(getattr(launcher, n) is not real for n, real in padders.items()),
        "as_on_a_tpu": lambda: settings.is_pallas_interpret() is False,
        "catching": lambda: launcher._pallas_build_callable.__name__ == "caught",
        "tpu_launcher": lambda: launcher._get_vmem_limit_bytes.__name__ == "_chip_vmem",
        "tpu_interpret": lambda: launcher._PALLAS_CACHE_ATTR == helion_patches.TPU_CACHE_ATTR,
    }


@pytest.mark.parametrize("name", ["poisoned_padding", "as_on_a_tpu", "catching", "tpu_launcher", "tpu_interpret"])
def test_each_context_manager_puts_back_what_it_replaced_even_after_a_failure(name: str) -> None:
    import helion.runtime.settings as settings
    import torch

    launcher = helion_patches.launcher_module()
    names = ("_PALLAS_CACHE_ATTR", *helion_patches.HOOKS, *helion_patches.PADDERS)
    before = {n: getattr(launcher, n) for n in names}
    before_settings, before_pad = settings.is_pallas_interpret, torch.nn.functional.pad
    inside = inside_only(launcher)[name]
    with pytest.raises(RuntimeError, match="inside"), getattr(helion_patches, name)():
        assert inside()
        raise RuntimeError("a kernel failed inside")
    assert not inside()
    assert {n: getattr(launcher, n) for n in names} == before
    assert settings.is_pallas_interpret is before_settings and torch.nn.functional.pad is before_pad


def test_recording_calls_hands_each_wrapper_the_real_function_and_puts_them_back() -> None:
    import torch
    from helion.runtime.kernel import BoundKernel, Kernel

    before = (Kernel.bind, BoundKernel.compile_config, BoundKernel.to_code, torch.testing.assert_close)
    seen: list[tuple[str, object]] = []

    def on(name: str):  # type: ignore[no-untyped-def]
        def wrapper(real, *args, **kw):  # type: ignore[no-untyped-def]
            seen.append((name, real))
            raise RuntimeError("inside")

        return wrapper

    with (
        pytest.raises(RuntimeError, match="inside"),
        helion_patches.recording_calls(on("bind"), on("compile"), on("code"), on("compared")),
    ):
        for call in (
            lambda: Kernel.bind(None, ()),  # type: ignore[arg-type]
            lambda: BoundKernel.compile_config(None),  # type: ignore[arg-type]
            lambda: BoundKernel.to_code(None),  # type: ignore[arg-type]
            lambda: torch.testing.assert_close(1, 1),
        ):
            with pytest.raises(RuntimeError, match="inside"):
                call()
        raise RuntimeError("inside")
    assert seen == list(zip(("bind", "compile", "code", "compared"), before, strict=True))
    assert (Kernel.bind, BoundKernel.compile_config, BoundKernel.to_code, torch.testing.assert_close) == before
