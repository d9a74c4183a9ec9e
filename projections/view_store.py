"""The view database as projections use it: the port they own, which infrastructure implements.

Projections write their tables inside one transaction per batch and read them back for
queries; which database holds the views (SQLite or PostgreSQL), how connections are pooled
and how the runner locks a projection is infrastructure's business
(``infrastructure/view_database.py``). SQL is written with ``?`` placeholders; ``dialect``
says where the two databases differ (``"sqlite"`` or ``"postgresql"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol


class ViewTransaction(Protocol):
    """Statements inside one write transaction."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: the database's SQL dialect."""
        ...

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query; return its rows."""
        ...

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters, sent together rather than one by one."""
        ...

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Append rows (tuples in column order) to a table in bulk: ``COPY`` on PostgreSQL."""
        ...


class ViewDatabase(Protocol):
    """Write transactions and reads against the views' database."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        ...

    def transaction(self) -> AbstractContextManager[ViewTransaction]:
        """A write transaction: committed on success, rolled back on any error."""
        ...

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read outside any write transaction."""
        ...
