"""Messages on a pipe: each one pickled, after its length (8 bytes, big-endian).

Pickled, not JSON: a run's worker sends a ``Checked`` per case, and pickling it is what
``multiprocessing`` did for the run before; a corpus worker's dict events cross unchanged.
"""

from __future__ import annotations

import pickle
from typing import IO, Any

HEADER = 8


def frame(message: Any) -> bytes:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return len(data).to_bytes(HEADER, "big") + data


def write(stream: IO[bytes], message: Any) -> None:
    stream.write(frame(message))
    stream.flush()


def read(stream: IO[bytes]) -> Any | None:
    """The next message on a blocking stream; None at its end."""
    header = stream.read(HEADER)
    if len(header) < HEADER:
        return None
    size = int.from_bytes(header, "big")
    data = stream.read(size)
    return pickle.loads(data) if len(data) == size else None


class Reader:
    """Messages out of the chunks a non-blocking read returns, whole ones only."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[Any]:
        self.buffer += chunk
        messages = []
        while len(self.buffer) >= HEADER:
            size = int.from_bytes(self.buffer[:HEADER], "big")
            if len(self.buffer) < HEADER + size:
                break
            messages.append(pickle.loads(self.buffer[HEADER : HEADER + size]))
            del self.buffer[: HEADER + size]
        return messages
