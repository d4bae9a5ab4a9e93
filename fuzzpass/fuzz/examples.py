"""Where a run keeps its examples (``--examples``), Hypothesis' example database: a directory,
``OUT/examples`` by default, or a
Redis server that the runs of several hosts share, both behind Hypothesis' database interface
and both lasting (:class:`LastingExamples`).

A Redis database needs ``pip install -e '.[redis]'``. Its examples are Hypothesis' Redis
database's sets under the :data:`KEY_PREFIX` namespace, kept a year from their last use (a
nightly paused for a month finds its examples again). Any Redis the runs can reach serves:
``redis://``, ``rediss://`` (TLS) or ``unix://`` URLs, with the password in the URL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from fuzzpass.core.files import write_atomically

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
KEY_PREFIX = b"fuzzpass-corpus:"
"""The namespace of a Redis database's keys: kept as it was named, so that a nightly's Redis keeps
the examples it saved before the database was called ``examples``."""
KEPT_FOR = timedelta(days=365)
SEEDS = "seeds"
"""Where a corpus keeps its seed cases (``fuzzpass corpus``: real kernels' structures): the
``seeds/`` folder of a directory database, the ``KEY_PREFIX + seeds`` hash of a Redis one."""


class ExamplesError(Exception):
    """An example database that cannot be opened: one line, naming ``--examples`` (exit 2)."""


class LastingExamples(ExampleDatabase):
    """A Hypothesis example database that never forgets.

    Hypothesis deletes a saved example that no longer fails. A fuzzer's examples should outlive the
    bug that put an example there: a fixed bug's case is a regression test, and an explorer
    that already reported a signature does not raise on it again (so to Hypothesis it "no
    longer fails"). Saves go through; deletes are dropped; a move keeps the source.
    """

    def __init__(self, db: ExampleDatabase) -> None:
        super().__init__()
        self._db = db

    def save(self, key: bytes, value: bytes) -> None:
        self._db.save(key, value)

    def fetch(self, key: bytes) -> Any:
        return self._db.fetch(key)

    def delete(self, key: bytes, value: bytes) -> None:
        pass

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._db.save(dest, value)


def is_redis(location: str | Path) -> bool:
    return str(location).startswith(REDIS_SCHEMES)


def open_examples(location: str | Path) -> LastingExamples:
    """The lasting example database at ``location``: a directory, or a Redis URL (checked with a ping, so
    that an unreachable server is one line at the start of a run, not a worker's traceback)."""
    if not is_redis(location):
        if Path(location).exists() and not Path(location).is_dir():
            raise ExamplesError(f"--examples {location}: not a directory")
        return LastingExamples(DirectoryBasedExampleDatabase(str(location)))
    try:
        import redis
        from hypothesis.extra.redis import RedisExampleDatabase
    except ImportError:
        raise ExamplesError(
            "--examples: a Redis database needs the redis package (pip install -e '.[redis]')"
        ) from None
    try:
        client = redis.Redis.from_url(str(location))
        client.ping()
    except (redis.RedisError, ValueError) as e:
        raise ExamplesError(f"--examples {shown(str(location))}: {first_line(e)}") from None
    return LastingExamples(RedisExampleDatabase(client, expire_after=KEPT_FOR, key_prefix=KEY_PREFIX))


def shown(location: str | Path) -> str:
    """``location`` as it may be printed and stored: a Redis URL without its password."""
    parts = urlsplit(str(location))
    if not is_redis(location) or parts.password is None:
        return str(location)
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


def first_line(e: Exception) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def add_seeds(location: str | Path, cases: dict[str, str]) -> None:
    """Keep ``cases`` (name -> case file text) as seeds of the example database at ``location``, each name
    once (a later text replaces an earlier one)."""
    if is_redis(location):
        import redis

        redis.Redis.from_url(str(location)).hset(KEY_PREFIX + SEEDS.encode(), mapping=cases)  # type: ignore[arg-type]
        return
    folder = Path(location) / SEEDS
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in cases.items():
        write_atomically(folder / f"{name}.json", text)


def read_seeds(location: str | Path) -> dict[str, str]:
    """The seed cases of the example database at ``location`` (name -> text); none where it has none.
    Their texts are parsed by the caller, which says in one line which one is corrupt."""
    if is_redis(location):
        import redis  # open_examples has checked that it is installed

        try:
            stored = redis.Redis.from_url(str(location)).hgetall(KEY_PREFIX + SEEDS.encode())
        except (redis.RedisError, ValueError) as e:
            raise ExamplesError(f"--examples {shown(str(location))}: seeds: {first_line(e)}") from None
        return {k.decode(): v.decode() for k, v in sorted(stored.items())}
    folder = Path(location) / SEEDS
    if not folder.is_dir():
        return {}
    try:
        return {p.stem: p.read_text() for p in sorted(folder.glob("*.json"))}
    except (OSError, UnicodeDecodeError) as e:
        raise ExamplesError(f"--examples {location}: {SEEDS}: {first_line(e)}") from None
