"""Shared fixtures and the ``--fuzzpass-`` options."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from fuzzpass.backends import schedule
from fuzzpass.backends.environment import prepare_environment

schedule.enable()  # static schedules for tests/perf/test_gate.py and tests/benchmarks: before libtpu starts
prepare_environment()

# CI: derandomized, bounded, no example database, so a red test is red on every machine.
settings.register_profile(
    "ci", derandomize=True, max_examples=60, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
"""The repository's case files: the three of the case contract (CASES.md) and more."""
CONTRACT_CASES = [
    EXAMPLES / f"{name}.json"
    for name in ("dense-kv-q-transpose-dot", "opposite-direction-keeps-eager", "reshape-blocks-deferral")
]
"""The case contract's examples (``shared/cases`` beside the steering repository), as
``examples/`` holds them: a bare clone has them."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzzpass-seeds",
        type=int,
        default=40,
        help="seeds per shipped case in the tolerance sweep (the closing note's figure used 1000)",
    )


@pytest.fixture
def seeds(request: pytest.FixtureRequest) -> int:
    return int(request.config.getoption("--fuzzpass-seeds"))


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A Redis server in this process (fakeredis' TCP server) that runs' worker processes and
    Ray actors reach as they would a real one."""
    from fakeredis import TcpFakeServer

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = TcpFakeServer(("127.0.0.1", port), server_type="redis")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"redis://127.0.0.1:{port}/0"
    server.shutdown()


@pytest.fixture
def remask_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helion's pass, then every ``_mask_to`` fed (through permutes) by a load it deferred is
    removed: the deferred mask is never applied again (the ``drop-remask`` bug, in Helion)."""
    import helion._compiler.device_ir as device_ir

    from fuzzpass.backends import helion as helion_backend

    helion_backend.install_probe()
    probed = device_ir.defer_pallas_load_masks

    def broken(graph: Any) -> None:
        probed(graph)
        drop_remasks(graph)

    monkeypatch.setattr(device_ir, "defer_pallas_load_masks", broken)


def drop_remasks(graph: Any) -> None:
    """Every ``_mask_to`` fed (through permutes) by a load whose mask was deferred, removed."""
    for node in list(graph.nodes):
        if getattr(node.target, "__name__", "") != "_mask_to":
            continue
        source = node.args[0]
        while str(getattr(source, "target", "")) == "aten.permute.default":
            source = source.args[0]
        if source.meta.get("pallas_deferred_mask_block_ids"):
            node.replace_all_uses_with(node.args[0])
            graph.erase_node(node)


@pytest.fixture
def helion_eager_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helion with its pass *off* binds a wrong kernel: its real pass defers and the deferred
    mask is never applied again. A bug of Helion's eager baseline, whatever the pass does."""
    import helion._compiler.device_ir as device_ir
    from helion._compiler.node_masking import defer_pallas_load_masks

    from fuzzpass.backends import helion as helion_backend

    helion_backend.install_probe()
    probed = device_ir.defer_pallas_load_masks

    def broken(graph: Any) -> None:
        probed(graph)
        if helion_backend._probe.mode == "off":
            defer_pallas_load_masks(graph)
            drop_remasks(graph)

    monkeypatch.setattr(device_ir, "defer_pallas_load_masks", broken)


@pytest.fixture
def eager_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check compiles its eager kernel as the drop-remask mutant's deferred one: a real
    bug of the baseline (codegen without the pass), for the verdicts and repros that name it."""
    import fuzzpass.judge.check
    from fuzzpass.judge.mutants import MUTANTS

    real = fuzzpass.judge.check.compile_variant

    def broken(spec: Any, mode: str = "on", *args: Any, **kwargs: Any) -> Any:
        if mode == "off":
            return MUTANTS["drop-remask"].compile(spec, "broken eager")
        return real(spec, mode, *args, **kwargs)

    monkeypatch.setattr(fuzzpass.judge.check, "compile_variant", broken)


LOST_DEFERRAL = (
    (
        "def defer_pallas_load_masks(graph: torch.fx.Graph) -> None:\n",
        "def defer_pallas_load_masks(graph: torch.fx.Graph) -> None:\n    return  # a release that lost the pass\n",
    ),
)
"""The edit that makes the project's own second Helion: the installed one whose pass defers
nothing (each load keeps its eager mask), as a release that lost the pass would."""


@pytest.fixture(scope="session")
def lost_deferral_helion(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding that second Helion (``--helion DIR``), made as ``--helion-patch``
    makes one: a copy of the installed package with the diff applied. No network, no release."""
    import subprocess
    import sys

    from fuzzpass.backends import helion_patch

    root = tmp_path_factory.mktemp("lost-deferral")
    (root / "lost.patch").write_text(helion_patch.make_patch(LOST_DEFERRAL))
    code = (
        "from pathlib import Path; from fuzzpass.backends import helion_patch; "
        f"helion_patch.patched_copy(Path({str(root / 'lost.patch')!r}), Path({str(root / 'helion-lost')!r}))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)  # its own process: it selects the copy
    return root / "helion-lost"
