"""Set-based reads and writes of view rows: one statement per chunk, never one per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.view_store import ViewTransaction

CHUNK = 400  # rows per statement, well below SQLite's limit of bound variables


def load_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Rows by their key (the first column), for the given keys."""
    rows: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), CHUNK):
        part = list(keys[start : start + CHUNK])
        marks = ", ".join("?" for _ in part)
        for found in tx.query(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {columns[0]} IN ({marks})", part
        ):
            rows[found[0]] = dict(zip(columns, found, strict=True))
    return rows


def upsert_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or replace rows keyed by the first column."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns[1:])
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        values = ", ".join("(" + ", ".join("?" for _ in columns) + ")" for _ in part)
        tx.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values} "
            f"ON CONFLICT ({columns[0]}) DO UPDATE SET {updates}",
            [row[c] for row in part for c in columns],
        )


def insert_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append rows (tuples in column order)."""
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        values = ", ".join("(" + ", ".join("?" for _ in columns) + ")" for _ in part)
        tx.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {values}",
            [value for row in part for value in row],
        )


def delete_rows(tx: ViewTransaction, table: str, key: str, keys: Sequence[str]) -> None:
    """Delete rows by key."""
    for start in range(0, len(keys), CHUNK):
        part = list(keys[start : start + CHUNK])
        marks = ", ".join("?" for _ in part)
        tx.execute(f"DELETE FROM {table} WHERE {key} IN ({marks})", part)
