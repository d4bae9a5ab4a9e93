"""One table of named records, registered beside their code: the op table's entries, the
profitability gates, Helion's rules beside the pass, the harness's backends.

A second record of one name is refused (a bug, not an override), and an unknown name is an
error that lists the known ones, so every table answers the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


R = TypeVar("R", bound=Named)


class Registry(dict[str, R]):
    """Records of one ``kind`` (``op``, ``gate``...) by name, in registration order."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def register(self, record: R) -> R:
        """Add ``record``; a second record of its name raises a ValueError."""
        if record.name in self:
            raise ValueError(f"{self.kind} {record.name!r} is registered twice")
        self[record.name] = record
        return record

    def known(self) -> str:
        """The names a user may give, sorted (those starting with ``_`` are internal)."""
        return ", ".join(sorted(n for n in self if not n.startswith("_")))

    def lookup(self, name: str) -> R:
        """The record called ``name``; a KeyError names it and the known ones."""
        try:
            return self[name]
        except KeyError:
            raise KeyError(f"unknown {self.kind} {name!r} (known: {self.known()})") from None

    def only_known(self, names: Iterable[str]) -> frozenset[str]:
        """``names`` as a set, where each names a record; a ValueError names those that do not."""
        names = frozenset(names)
        if unknown := sorted(names - self.keys()):
            raise ValueError(f"unknown {self.kind} {', '.join(unknown)} (known: {self.known()})")
        return names
