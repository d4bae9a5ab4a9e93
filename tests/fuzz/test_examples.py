"""The lasting example database (``fuzz/examples.py``): a second run replays what the first saved
before it draws anything new, whether the database is ``OUT/examples`` or a Redis server that runs
with different ``--out`` directories (hosts) share; ``--fail-on new`` lets a known finding pass;
a database that cannot be opened is one line and exit 2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis.database import InMemoryExampleDatabase

from fuzzpass.fuzz.examples import KEY_PREFIX, ExamplesError, LastingExamples, open_examples, shown
from tests.conftest import NO_REDIS_SERVER


def fuzzpass_run(out: Path, seed: int, *extra: str) -> tuple[int, dict[str, Any], str]:
    command = [sys.executable, "-m", "fuzzpass", "run", "--jobs", "1", "--seed", str(seed), "--out", str(out),
               "--quiet", "--no-minimize", "--mutant", "drop-remask", *extra]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return run.returncode, summary, run.stderr


def signatures(summary: dict[str, Any]) -> set[str]:
    return {f["signature"] for f in summary["findings"]}


@pytest.fixture(scope="module")
def first_finding(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A run that stops at its first finding, leaving it in its example database."""
    out = tmp_path_factory.mktemp("first")
    code, summary, stderr = fuzzpass_run(out, 1, "--budget", "120", "--stop-at-first")
    assert code == 1 and summary["stopped"] == "first finding", stderr
    return out, summary


def test_without_an_example_database_the_second_runs_seed_finds_nothing_in_four_cases(tmp_path: Path) -> None:
    code, summary, stderr = fuzzpass_run(tmp_path, 2, "--budget", "4cases")  # the control of the next test
    assert code == 0 and summary["findings"] == [], stderr


def test_a_second_run_under_one_out_replays_the_examples_first_and_fail_on_new_passes_it(
    first_finding: tuple[Path, dict[str, Any]],
) -> None:
    out, first = first_finding
    assert any((out / "examples").rglob("*"))
    code, second, stderr = fuzzpass_run(out, 2, "--budget", "4cases", "--fail-on", "new")
    assert code == 0, stderr  # found again, and known: not a failure under --fail-on new
    assert signatures(second) == signatures(first)
    assert [f["new"] for f in second["findings"]] == [False]
    assert second["examples"] == str(out / "examples")
    code, _, _ = fuzzpass_run(out, 2, "--budget", "4cases")  # --fail-on any (the default) still fails
    assert code == 1


def test_fail_on_new_fails_on_a_finding_no_earlier_run_left(tmp_path: Path) -> None:
    code, summary, stderr = fuzzpass_run(tmp_path, 1, "--budget", "120", "--stop-at-first", "--fail-on", "new")
    assert code == 1 and [f["new"] for f in summary["findings"]] == [True], stderr


def test_runs_on_two_hosts_share_a_redis_example_database(tmp_path: Path, redis_url: str) -> None:
    import redis

    code, first, stderr = fuzzpass_run(tmp_path / "host-a", 1, "--budget", "120", "--stop-at-first",
                                       "--examples", redis_url)  # fmt: skip
    assert code == 1 and first["examples"] == redis_url, stderr
    assert not (tmp_path / "host-a" / "examples").exists()
    keys = redis.Redis.from_url(redis_url).keys()
    assert keys and all(k.startswith(KEY_PREFIX) for k in keys)
    code, second, stderr = fuzzpass_run(tmp_path / "host-b", 2, "--budget", "4cases", "--examples", redis_url)
    assert code == 1, stderr  # replayed from the shared database: new to this host's --out
    assert signatures(second) == signatures(first) and [f["new"] for f in second["findings"]] == [True]


def test_where_redis_server_is_installed_the_redis_database_tests_run_against_it(redis_url: str) -> None:
    """CI installs Debian's redis-server (``.ci/run``): fakeredis must not stand in there unseen."""
    import redis

    if shutil.which("redis-server") is None:
        pytest.skip(NO_REDIS_SERVER)
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        hello = client.execute_command("HELLO")  # fakeredis answers "server": "fakeredis", and has no INFO
        info = client.info("server")
    assert hello["server"] == "redis" and info["redis_version"]
    assert info["tcp_port"] == urlsplit(redis_url).port and info["process_id"] != os.getpid()


@pytest.mark.parametrize(
    ("corpus", "says"),
    [
        ("redis://:hunter2@127.0.0.1:9/0", "--examples redis://:***@127.0.0.1:9/0: Error"),
        ("redis://127.0.0.1:notaport/0", "--examples redis://127.0.0.1:notaport/0: "),
        ("FILE", "--examples FILE: not a directory"),
    ],
    ids=["unreachable", "bad-url", "a-file"],
)
def test_an_example_database_that_cannot_be_opened_is_one_line(tmp_path: Path, corpus: str, says: str) -> None:
    (tmp_path / "FILE").write_text("")
    command = [sys.executable, "-m", "fuzzpass", "run", "--budget", "1cases", "--out", str(tmp_path / "out"),
               "--examples", corpus, "--quiet"]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 2
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"fuzzpass: error: {says}") and "hunter2" not in line and "Traceback" not in run.stderr


def test_without_the_redis_package_a_redis_database_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(ExamplesError, match=r"pip install -e '\.\[redis\]'"):
        open_examples("redis://127.0.0.1:6379/0")


def test_the_corpus_never_forgets_and_a_move_keeps_the_source() -> None:
    corpus = LastingExamples(InMemoryExampleDatabase())
    corpus.save(b"k", b"a")
    corpus.delete(b"k", b"a")
    corpus.move(b"k", b"other", b"a")
    assert list(corpus.fetch(b"k")) == [b"a"] and list(corpus.fetch(b"other")) == [b"a"]


def test_a_password_never_reaches_the_summary() -> None:
    assert shown("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert shown("rediss://host:6379/0") == "rediss://host:6379/0"
    assert shown("/some/dir") == "/some/dir"
