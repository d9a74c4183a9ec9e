"""Reading receivables and payment requests: an account's list, the cash office's, the watch's.

Lists page by keyset: each row carries the ``cursor`` to pass as ``after`` for the rows after
it (an opaque token of its sort key, ``projections/cursors.py``), so a page is stable while
payments arrive. Money comes back as ``Decimal``, ids as ``UUID``, days as ``date``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final
from uuid import UUID

from domain.payments.payment_request import WAITING
from projections.cursors import decode_cursor, encode_cursor
from projections.inbox import utc_text
from projections.receivables import REQUEST_COLUMNS, Receivables
from projections.view_store import ViewDatabase
from projections.where import Where

RECEIVABLE_FIELDS: Final = (
    "receivable_id",
    "tenant",
    "kassenzeichen",
    "business_customer",
    "case_id",
    "case_reference",
    "service",
    "amount",
    "paid",
    "refunded",
    "outstanding",
    "credit",
    "status",
    "due_on",
    "prepaid",
    "ledger",
    "opened_at",
    "settled_at",
    "position",
    "open_rank",
    "due_key",
)
REQUEST_FIELDS: Final = REQUEST_COLUMNS  # every column of a request row
MONEY: Final = ("amount", "paid", "refunded", "outstanding", "credit", "total", "overpaid")
IDS: Final = ("receivable_id", "business_customer", "case_id", "id")
ACCOUNT_CURSOR: Final = (int, str, str)  # open_rank, due_key, kassenzeichen
OPEN_CURSOR: Final = (str, str)  # due_key, kassenzeichen


def _receivable(row: tuple[Any, ...], cursor: list[Any]) -> dict[str, Any]:
    found = dict(zip(RECEIVABLE_FIELDS, row, strict=True))
    rank, due_key = found.pop("open_rank"), found.pop("due_key")
    item = _typed(found)
    item["due_on"] = date.fromisoformat(found["due_on"]) if found["due_on"] else None
    item["prepaid"] = bool(found["prepaid"])
    item["currency"] = "EUR"
    item["cursor"] = encode_cursor(cursor if cursor else [rank, due_key, found["kassenzeichen"]])
    return item


def _typed(found: dict[str, Any]) -> dict[str, Any]:
    item = dict(found)
    for name in MONEY:
        if name in item:
            item[name] = Decimal(item[name])
    for name in IDS:
        if item.get(name) is not None:
            item[name] = UUID(str(item[name]))
    item["position"] = int(item["position"])
    return item


def receivables_of(
    views: ViewDatabase,
    tenant: str,
    business_customer: UUID | str,
    *,
    status: str | None = None,
    limit: int,
    after: str | None = None,
) -> list[dict[str, Any]]:
    """A business customer's receivables: still owed first, each by due date (none last)."""
    table = Receivables().table
    where = Where("tenant = ? AND business_customer = ?", tenant, str(business_customer))
    where.equal("status", status)
    if after:
        rank, due_key, kz = decode_cursor(after, *ACCOUNT_CURSOR)
        where.add(
            "(open_rank > ? OR (open_rank = ? AND (due_key > ? OR "
            "(due_key = ? AND kassenzeichen > ?))))",
            rank,
            rank,
            due_key,
            due_key,
            kz,
        )
    rows = views.query(
        f"SELECT {', '.join(RECEIVABLE_FIELDS)} FROM {table} WHERE {where.sql} "
        "ORDER BY open_rank, due_key, kassenzeichen LIMIT ?",
        [*where.params, limit],
    )
    return [_receivable(row, []) for row in rows]


def open_receivables(
    views: ViewDatabase, tenant: str, *, limit: int, after: str | None = None
) -> list[dict[str, Any]]:
    """The town's receivables still owed (open or partly paid), by due date (none last)."""
    table = Receivables().table
    where = Where("tenant = ? AND open_rank = 0", tenant)
    if after:
        due_key, kz = decode_cursor(after, *OPEN_CURSOR)
        where.add("(due_key > ? OR (due_key = ? AND kassenzeichen > ?))", due_key, due_key, kz)
    rows = views.query(
        f"SELECT {', '.join(RECEIVABLE_FIELDS)} FROM {table} WHERE {where.sql} "
        "ORDER BY due_key, kassenzeichen LIMIT ?",
        [*where.params, limit],
    )
    return [_receivable(row, [row[-1], row[2]]) for row in rows]


def _request(row: tuple[Any, ...]) -> dict[str, Any]:
    item = _typed(dict(zip(REQUEST_FIELDS, row, strict=True)))
    item["kassenzeichen"] = list(json.loads(item["kassenzeichen"]))
    item["currency"] = "EUR"
    return item


def payment_requests_of(
    views: ViewDatabase, tenant: str, business_customer: UUID | str, *, limit: int
) -> list[dict[str, Any]]:
    """A business customer's payment requests, newest first."""
    table = Receivables().requests_table
    rows = views.query(
        f"SELECT {', '.join(REQUEST_FIELDS)} FROM {table} "
        "WHERE tenant = ? AND business_customer = ? ORDER BY requested_at DESC, id DESC LIMIT ?",
        (tenant, str(business_customer), limit),
    )
    return [_request(row) for row in rows]


def waiting_requests(
    views: ViewDatabase,
    *,
    started_before: datetime,
    limit: int,
    after: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Requests of every town still waiting (requested or pending) whose last event lies
    before ``started_before``, longest waiting first: the payment watch polls them.

    ``after`` (a row's ``last_event_at`` text and id) continues behind that row, so a watch
    goes round all of them even when the longest waiting never leave (partly paid).
    """
    table = Receivables().requests_table
    where = Where()
    where.within("status", WAITING)
    where.add("last_event_at < ?", utc_text(started_before))
    if after is not None:
        where.add("(last_event_at > ? OR (last_event_at = ? AND id > ?))", *after[:1], *after)
    rows = views.query(
        f"SELECT {', '.join(REQUEST_FIELDS)} FROM {table} WHERE {where.sql} "
        "ORDER BY last_event_at, id LIMIT ?",
        [*where.params, limit],
    )
    return [_request(row) for row in rows]
