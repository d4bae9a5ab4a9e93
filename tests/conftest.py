"""Shared fixtures and the ``--fuzzpass-`` options."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
import warnings
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


NO_REDIS_SERVER = "no redis-server on PATH: fakeredis stands in (apt-get install redis-server)"
"""Why the Redis corpus tests ran against fakeredis: the reason of the warning and of the skip
of the test that asserts a real server answered."""


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis server for this session (one per xdist worker) on a free loopback port, as a
    user's nightly meets it: Debian's ``redis-server`` in its own process and ``--dir``, nothing
    saved to disk. Where none is installed, fakeredis' TCP server in this process stands in,
    with a warning (:data:`NO_REDIS_SERVER`)."""
    import redis

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    binary = shutil.which("redis-server")
    if binary is None:
        from fakeredis import TcpFakeServer

        warnings.warn(NO_REDIS_SERVER, pytest.PytestWarning, stacklevel=1)
        fake = TcpFakeServer(("127.0.0.1", port), server_type="redis")
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        yield url
        fake.shutdown()
        return
    folder = tmp_path_factory.mktemp("redis")
    log = folder / "redis-server.log"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--daemonize", "no", "--dir", str(folder)]  # fmt: skip
    with log.open("w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1) as client:
            deadline = time.monotonic() + 20
            while not answers_ping(client):
                if server.poll() is not None or time.monotonic() > deadline:
                    why = "never answered PING in 20 s" if server.returncode is None else f"exited {server.returncode}"
                    pytest.fail(f"redis-server on port {port} {why}: see {log}", pytrace=False)
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def answers_ping(client: Any) -> bool:
    """Whether the server behind ``client`` answers PING now (not yet listening: no)."""
    import redis

    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError):
        return False


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The session's Redis server (:func:`redis_server`), emptied for this test: runs' worker
    processes and Ray actors reach it as a nightly's hosts reach theirs."""
    import redis

    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server


@pytest.fixture
def remask_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """Helion's pass, then every ``_mask_to`` fed (through permutes) by a load it deferred is
    removed: the deferred mask is never applied again (the ``drop-remask`` bug, in Helion)."""
    import helion._compiler.device_ir as device_ir

    from fuzzpass.backends import helion_decisions

    helion_decisions.install_probe()
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

    from fuzzpass.backends import helion_decisions

    helion_decisions.install_probe()
    probed = device_ir.defer_pallas_load_masks

    def broken(graph: Any) -> None:
        probed(graph)
        if helion_decisions.current_mode() == "off":
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
