"""Reconciliation: the provider's settlement report of a day against the payments recorded here.

Each run is one ``Reconciled`` event of the ``Reconciliation`` of a town, provider and day
(``reconciliation_id``); runs may repeat (a late report, a corrected one), and auditors read
every one. ``compare`` matches rows exactly on provider reference, Kassenzeichen, amount and
day, each row at most once: ``matched`` in both, ``missing`` recorded here but not in the
report, ``unexpected`` in the report but not recorded (a row with another amount or
Kassenzeichen is unexpected, and the recorded row it should have matched is missing). Rows
hold no personal data and no card data; the report is kept only as its SHA-256 digest.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Final
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.actor import ActorRecord
from domain.case import check_aware
from domain.errors import InvalidCommand
from domain.payments.money import CENT
from domain.payments.receivable import check_identifier, check_text

RECONCILIATION_NAMESPACE: Final = UUID("3e8b2d4f-7a1c-5b96-8d0e-4f2a9c6b1e73")
ROW_FIELDS: Final = ("provider_reference", "kassenzeichen", "amount", "day")

Row = dict[str, str]
Key = tuple[str, str, str, str]


def reconciliation_id(tenant: str, provider: str, day: date) -> UUID:
    """The id of the reconciliation of a town's payments at a provider on a day."""
    return uuid5(RECONCILIATION_NAMESPACE, f"{tenant}/{provider}/{day.isoformat()}")


def settlement_row(
    provider_reference: str, kassenzeichen: str, amount: Decimal | str, day: date | str
) -> Row:
    """A row as reconciliation compares it: amount with two places, day in ISO format."""
    return _canonical(
        {
            "provider_reference": provider_reference,
            "kassenzeichen": kassenzeichen,
            "amount": str(amount),
            "day": day.isoformat() if isinstance(day, date) else day,
        }
    )


def _canonical(row: Mapping[str, object]) -> Row:
    missing = [f for f in ROW_FIELDS if f not in row]
    if missing:
        raise InvalidCommand(missing[0], "a settlement row needs it")
    try:
        amount = Decimal(str(row["amount"]).strip()).quantize(CENT)
        day = date.fromisoformat(str(row["day"]).strip()[:10])
    except (InvalidOperation, ValueError):
        raise InvalidCommand("amount", "a settlement row has an amount and a day") from None
    return {
        "provider_reference": str(row["provider_reference"]).strip(),
        "kassenzeichen": str(row["kassenzeichen"]).strip(),
        "amount": str(amount),
        "day": day.isoformat(),
    }


def _key(row: Row) -> Key:
    return (row["provider_reference"], row["kassenzeichen"], row["amount"], row["day"])


def compare(
    report_rows: Iterable[Mapping[str, object]], recorded_rows: Iterable[Mapping[str, object]]
) -> tuple[list[Row], list[Row], list[Row]]:
    """(matched, missing, unexpected): each report row matches at most one recorded row."""
    report = Counter(_key(_canonical(r)) for r in report_rows)
    recorded = Counter(_key(_canonical(r)) for r in recorded_rows)
    matched = report & recorded
    return (
        _rows(matched),
        _rows(recorded - matched),
        _rows(report - matched),
    )


def _rows(keys: Counter[Key]) -> list[Row]:
    return [dict(zip(ROW_FIELDS, key, strict=True)) for key in sorted(keys.elements())]


def report_digest(report_rows: Iterable[Mapping[str, object]]) -> str:
    """SHA-256 of the report's rows in a canonical form (order and formatting do not count)."""
    lines = sorted(",".join(_key(_canonical(r))) for r in report_rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class Reconciliation(Aggregate):
    """Every reconciliation run of a town's payments at one provider for one day."""

    @classmethod
    def open(cls, *, tenant: str, provider: str, day: date) -> Reconciliation:
        """The reconciliation of a day, before its first run."""
        check_text(tenant, "tenant")
        check_identifier(provider, "provider")
        if not isinstance(day, date) or isinstance(day, datetime):
            raise InvalidCommand("day", "must be a date")
        return cls(
            id=reconciliation_id(tenant, provider, day), tenant=tenant, provider=provider, day=day
        )

    class Opened(Aggregate.Created):
        """The reconciliation of a town's payments at a provider on a day, not yet run."""

        tenant: str
        provider: str
        day: date

    @event(Opened)
    def __init__(self, *, id: UUID, tenant: str, provider: str, day: date) -> None:
        self.tenant = tenant
        self.provider = provider
        self.day = day
        self.runs = 0
        self.last_run_at: datetime | None = None
        self.report_digest: str | None = None
        self.matched: list[Row] = []
        self.missing: list[Row] = []
        self.unexpected: list[Row] = []

    @property
    def balanced(self) -> bool:
        """Whether the last run found nothing missing and nothing unexpected."""
        return self.runs > 0 and not self.missing and not self.unexpected

    def reconcile(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        report_rows: Iterable[Mapping[str, object]],
        recorded_rows: Iterable[Mapping[str, object]],
    ) -> tuple[list[Row], list[Row], list[Row]]:
        """Run the comparison and record it; returns (matched, missing, unexpected)."""
        check_aware(at)
        report = [_canonical(r) for r in report_rows]
        recorded = [_canonical(r) for r in recorded_rows]
        day = self.day.isoformat()
        for index, row in enumerate(report):
            if row["day"] != day:
                raise InvalidCommand(f"report_rows.{index}.day", f"the report is of {day}")
        matched, missing, unexpected = compare(report, recorded)
        self._reconciled(
            actor=actor,
            at=at,
            day=self.day,
            provider=self.provider,
            report_digest=report_digest(report),
            matched=matched,
            missing=missing,
            unexpected=unexpected,
        )
        return matched, missing, unexpected

    class Reconciled(Aggregate.Event):
        """One run: the report's digest and the rows matched, missing and unexpected."""

        actor: ActorRecord
        at: datetime
        day: date
        provider: str
        report_digest: str
        matched: list[Row]
        missing: list[Row]
        unexpected: list[Row]

    @event(Reconciled)
    def _reconciled(
        self,
        *,
        actor: ActorRecord,
        at: datetime,
        day: date,
        provider: str,
        report_digest: str,
        matched: list[Row],
        missing: list[Row],
        unexpected: list[Row],
    ) -> None:
        self.runs += 1
        self.last_run_at = at
        self.report_digest = report_digest
        self.matched = list(matched)
        self.missing = list(missing)
        self.unexpected = list(unexpected)
