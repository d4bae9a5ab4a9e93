"""Messages on a worker's pipe: a message split across reads, or several in one read, comes
out whole and in order."""

from __future__ import annotations

import io

from fuzzpass.core.workers import frames
from fuzzpass.core.workers.messages import Done, Ready, Said


def test_messages_come_out_whole_however_the_pipe_splits_them() -> None:
    sent = [Ready(), Said({"event": "where", "at": "x" * 70_000}), Said("checked", timed=False), Done(retire=True)]
    stream = b"".join(frames.frame(m) for m in sent)
    reader = frames.Reader()
    heard = [m for i in range(0, len(stream), 4096) for m in reader.feed(stream[i : i + 4096])]
    assert heard == sent and reader.buffer == bytearray()
    assert frames.Reader().feed(stream) == sent  # all in one read


def test_a_blocking_stream_ends_in_none() -> None:
    stream = io.BytesIO(frames.frame(Ready()) + frames.frame(Done())[:5])
    assert frames.read(stream) == Ready()
    assert frames.read(stream) is None  # a message cut short: the worker died writing it
