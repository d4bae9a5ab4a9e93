"""The one table of named records the op table, the gates, Helion's rules and the backends share."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from reference.registry import Registry


@dataclass(frozen=True)
class Thing:
    name: str


def test_a_second_record_of_one_name_is_refused() -> None:
    table: Registry[Thing] = Registry("thing")
    first = table.register(Thing("a"))
    assert table.lookup("a") is first
    with pytest.raises(ValueError, match=r"^thing 'a' is registered twice$"):
        table.register(Thing("a"))


def test_an_unknown_name_lists_the_known_ones_sorted_and_not_the_internal_ones() -> None:
    table: Registry[Thing] = Registry("thing")
    for name in ("b", "_inner", "a"):
        table.register(Thing(name))
    with pytest.raises(KeyError, match=r"unknown thing 'c' \(known: a, b\)"):
        table.lookup("c")
    assert table.only_known(["a", "b"]) == {"a", "b"}
    with pytest.raises(ValueError, match=r"^unknown thing c, d \(known: a, b\)$"):
        table.only_known(["a", "d", "c"])
