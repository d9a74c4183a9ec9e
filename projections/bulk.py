"""Set-based reads and writes of view rows: a few statements per batch, never one per row.

A handful of rows goes in one multi-row statement, which the database caches like any
short one. More rows go in bulk, without a statement whose length grows with the batch
(psycopg parses such a statement in Python each time, as it is too long for its cache):
on PostgreSQL they are copied (``COPY``), an upsert copies them into a temporary table
first and merges them from there in one ``INSERT … ON CONFLICT``, and keys go as one
array parameter; SQLite runs one short statement per row in C (``executemany``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from projections.view_store import ViewTransaction

CHUNK = 400  # SQLite: keys per IN list, well below its limit of bound variables
FEW = 32  # up to this many rows go in one multi-row statement; more go in bulk
STAGED = "vorgang_staged_rows"  # PostgreSQL: a temporary table, an upsert's rows on their way in


def _postgres(tx: ViewTransaction) -> bool:
    return tx.dialect == "postgresql"


def load_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], keys: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Rows by their key (the first column), for the given keys."""
    rows: dict[str, dict[str, Any]] = {}
    selected = f"SELECT {', '.join(columns)} FROM {table} WHERE {columns[0]}"
    if _postgres(tx) and keys:
        found = tx.query(f"{selected} = ANY(?)", (list(keys),))
    else:
        found = []
        for start in range(0, len(keys), CHUNK):
            part = list(keys[start : start + CHUNK])
            found += tx.query(f"{selected} IN ({', '.join('?' for _ in part)})", part)
    for row in found:
        rows[row[0]] = dict(zip(columns, row, strict=True))
    return rows


def _values(columns: Sequence[str], count: int) -> str:
    return ", ".join("(" + ", ".join("?" for _ in columns) + ")" for _ in range(count))


def upsert_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], rows: Sequence[dict[str, Any]]
) -> None:
    """Insert or replace rows keyed by the first column."""
    if not rows:
        return
    names = ", ".join(columns)
    on_conflict = f"ON CONFLICT ({columns[0]}) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in columns[1:]
    )
    tuples = [tuple(row[c] for c in columns) for row in rows]
    if len(tuples) <= FEW:
        tx.execute(
            f"INSERT INTO {table} ({names}) VALUES {_values(columns, len(tuples))} {on_conflict}",
            [value for row in tuples for value in row],
        )
    elif _postgres(tx):
        # Dropped again at once: a transaction may upsert into several tables (or batches).
        tx.execute(f"CREATE TEMPORARY TABLE {STAGED} AS SELECT {names} FROM {table} WITH NO DATA")
        tx.copy_rows(STAGED, columns, tuples)
        tx.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGED} {on_conflict}")
        tx.execute(f"DROP TABLE {STAGED}")
    else:
        tx.execute_many(
            f"INSERT INTO {table} ({names}) VALUES {_values(columns, 1)} {on_conflict}", tuples
        )


def insert_rows(
    tx: ViewTransaction, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append rows (tuples in column order)."""
    if not rows:
        return
    if len(rows) <= FEW:
        tx.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES {_values(columns, len(rows))}",
            [value for row in rows for value in row],
        )
    else:
        tx.copy_rows(table, columns, rows)


def delete_rows(tx: ViewTransaction, table: str, key: str, keys: Sequence[str]) -> None:
    """Delete rows by key."""
    if _postgres(tx) and keys:
        tx.execute(f"DELETE FROM {table} WHERE {key} = ANY(?)", (list(keys),))
        return
    for start in range(0, len(keys), CHUNK):
        part = list(keys[start : start + CHUNK])
        tx.execute(f"DELETE FROM {table} WHERE {key} IN ({', '.join('?' for _ in part)})", part)
