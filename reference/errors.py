"""Errors that name what is wrong, so the harness can print one line and exit 2."""

from __future__ import annotations


class SpecError(ValueError):
    """A kernel spec that breaks a rule; ``field`` is the dotted path of the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def within(self, prefix: str) -> SpecError:
        """The same error with ``prefix`` put before its field (``graph[3]`` + ``dims``)."""
        return SpecError(f"{prefix}.{self.field}" if self.field else prefix, self.message)


class CodegenError(RuntimeError):
    """An op's Pallas rule failed; the message names the node, as Pallas' lowering does."""
