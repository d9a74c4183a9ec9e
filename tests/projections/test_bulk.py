"""Rows in bulk: writes never grow one statement with the batch, and every row arrives."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from infrastructure.view_database import ViewDatabase, open_views
from projections.bulk import FEW, delete_rows, insert_rows, load_rows, upsert_rows
from projections.view_store import ViewTransaction
from tests.conftest import drop_postgres_schema, fresh_postgres_target, sqlite_target

COLUMNS = ("key", "name", "n")
PLACEHOLDER = re.compile(r"\?|%s")
NAME = "Müller\t'\\N"  # what COPY's text format must escape


class Recording:
    """A view transaction that keeps every statement it was given."""

    def __init__(self, tx: ViewTransaction) -> None:
        self.tx = tx
        self.statements: list[str] = []

    @property
    def dialect(self) -> str:
        return self.tx.dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        self.statements.append(sql)
        return self.tx.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.statements.append(sql)
        return self.tx.query(sql, params)

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.statements.append(sql)
        self.tx.execute_many(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self.statements.append(f"COPY {table}")
        self.tx.copy_rows(table, columns, rows)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def views(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ViewDatabase]:
    target = sqlite_target(tmp_path) if request.param == "sqlite" else fresh_postgres_target()
    opened = open_views(target)
    try:
        with opened.transaction() as tx:
            tx.execute("CREATE TABLE t (key TEXT PRIMARY KEY, name TEXT, n INTEGER NOT NULL)")
        yield opened
    finally:
        opened.close()
        if target.is_postgres:
            drop_postgres_schema(target)


def batch(views: ViewDatabase, size: int) -> Recording:
    """Append half the rows, upsert all (replacing that half), read them, delete a quarter."""
    keys = [f"{size}-{i}" for i in range(size)]
    new = [{"key": k, "name": NAME, "n": i} for i, k in enumerate(keys)]
    with views.transaction() as raw:
        tx = Recording(raw)
        insert_rows(tx, "t", COLUMNS, [(k, "old", -1) for k in keys[: size // 2]])
        upsert_rows(tx, "t", COLUMNS, new)
        loaded = load_rows(tx, "t", COLUMNS, keys)
        delete_rows(tx, "t", "key", keys[: size // 4])
    assert loaded == {row["key"]: row for row in new}
    left = views.query("SELECT key, name, n FROM t WHERE key LIKE ? ORDER BY n", (f"{size}-%",))
    assert left == [(k, NAME, i) for i, k in enumerate(keys)][size // 4 :]
    return tx


def writes(tx: Recording) -> list[str]:
    return [s for s in tx.statements if s.startswith(("INSERT", "COPY"))]


@pytest.mark.parametrize("size", [3, FEW + 1, 2000])
def test_a_write_never_carries_more_than_a_few_rows_in_one_statement(
    views: ViewDatabase, size: int
) -> None:
    tx = batch(views, size)
    longest = max(len(PLACEHOLDER.findall(s)) for s in writes(tx))
    assert longest <= FEW * len(COLUMNS)


@pytest.mark.postgres
def test_on_postgresql_a_batch_takes_as_many_statements_whatever_its_size(
    tmp_path: Path,
) -> None:
    target = fresh_postgres_target()
    views = open_views(target)
    try:
        with views.transaction() as tx:
            tx.execute("CREATE TABLE t (key TEXT PRIMARY KEY, name TEXT, n INTEGER NOT NULL)")
        assert len(batch(views, 100).statements) == len(batch(views, 5000).statements)
    finally:
        views.close()
        drop_postgres_schema(target)
