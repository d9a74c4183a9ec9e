"""The WHERE clause of a view query: its conditions and their parameters, kept in step."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Where:
    """Conditions joined by AND, and the parameters of their placeholders in order."""

    def __init__(self, condition: str | None = None, *params: Any) -> None:
        self.conditions: list[str] = []
        self.params: list[Any] = []
        if condition is not None:
            self.add(condition, *params)

    def add(self, condition: str, *params: Any) -> None:
        """A condition with a parameter for each of its placeholders."""
        self.conditions.append(condition)
        self.params.extend(params)

    def equal(self, column: str, value: Any) -> None:
        """``column = value`` where a filter is given (None or empty filters nothing)."""
        if value:
            self.add(f"{column} = ?", value)

    def within(self, column: str, values: Iterable[Any]) -> None:
        """``column IN (values)``."""
        values = list(values)
        self.add(f"{column} IN ({', '.join('?' for _ in values)})", *values)

    @property
    def sql(self) -> str:
        """The conditions, joined by AND."""
        return " AND ".join(self.conditions)
