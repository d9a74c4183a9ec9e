"""Reconciliation: the provider's settlement report against the payments recorded here.

Rows match exactly (provider reference, Kassenzeichen, amount, day), each at most once;
what is recorded but not reported is missing, what is reported but not recorded (or with
another amount or Kassenzeichen) is unexpected. Each run is one event with the report's digest.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actor import ActorRecord, Role
from domain.errors import InvalidCommand
from domain.payments.kassenzeichen import kassenzeichen
from domain.payments.reconciliation import (
    Reconciliation,
    compare,
    reconciliation_id,
    report_digest,
    settlement_row,
)
from domain.personal_data import PersonalData, Subjects

DAY = date(2026, 3, 2)
AT = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
KZ_A = kassenzeichen("06434011", 2026, 12, 1)
KZ_B = kassenzeichen("06434011", 2026, 13, 1)
KZ_C = kassenzeichen("06434011", 2026, 14, 2)
ID = reconciliation_id("usingen", "simulator", DAY)
AUDITOR = ActorRecord(
    "system", PersonalData(ID, Subjects.actor("system"), "CLI"), Role.SYSTEM, "usingen"
)


def row(reference: str, kz: str, amount: str) -> dict[str, str]:
    return settlement_row(reference, kz, Decimal(amount), DAY)


def test_rows_match_exactly_and_the_rest_is_missing_or_unexpected() -> None:
    recorded = [row("sim_1", KZ_A, "100.00"), row("sim_1", KZ_B, "50.00"), row("sim_2", KZ_C, "20")]
    report = [
        {"provider_reference": "sim_1", "kassenzeichen": KZ_B, "amount": "50", "day": "2026-03-02"},
        row("sim_1", KZ_A, "100.00"),
        row("sim_2", KZ_C, "25.00"),  # another amount
        row("sim_9", KZ_A, "5.00"),  # never recorded
    ]
    matched, missing, unexpected = compare(report, recorded)
    assert matched == [row("sim_1", KZ_A, "100.00"), row("sim_1", KZ_B, "50.00")]
    assert missing == [row("sim_2", KZ_C, "20.00")]
    assert unexpected == [row("sim_2", KZ_C, "25.00"), row("sim_9", KZ_A, "5.00")]
    assert matched[1]["amount"] == "50.00"


def test_a_row_reported_twice_matches_one_recorded_row_once() -> None:
    matched, missing, unexpected = compare(
        [row("sim_1", KZ_A, "10.00"), row("sim_1", KZ_A, "10.00")], [row("sim_1", KZ_A, "10.00")]
    )
    assert (len(matched), missing, unexpected) == (1, [], [row("sim_1", KZ_A, "10.00")])


rows = st.lists(
    st.builds(
        row,
        st.sampled_from(["sim_1", "sim_2", "sim_3"]),
        st.sampled_from([KZ_A, KZ_B, KZ_C]),
        st.sampled_from(["10.00", "20.00", "0.50"]),
    ),
    max_size=8,
)


@given(report=rows, recorded=rows)
def test_every_row_is_accounted_for_once(
    report: list[dict[str, str]], recorded: list[dict[str, str]]
) -> None:
    matched, missing, unexpected = compare(report, recorded)
    assert sorted(map(str, matched + unexpected)) == sorted(map(str, report))
    assert sorted(map(str, matched + missing)) == sorted(map(str, recorded))
    assert not (set(map(str, missing)) & set(map(str, unexpected)))
    assert report_digest(report) == report_digest(list(reversed(report)))


def test_each_run_is_one_event_with_the_digest_of_the_report() -> None:
    reconciliation = Reconciliation.open(tenant="usingen", provider="simulator", day=DAY)
    assert reconciliation.id == ID
    report = [row("sim_1", KZ_A, "100.00")]
    reconciliation.reconcile(actor=AUDITOR, at=AT, report_rows=report, recorded_rows=[])
    assert not reconciliation.balanced
    reconciliation.reconcile(actor=AUDITOR, at=AT, report_rows=report, recorded_rows=report)
    runs = [e for e in reconciliation.collect_events() if isinstance(e, Reconciliation.Reconciled)]
    assert len(runs) == 2
    assert runs[0].unexpected == report
    assert runs[1].matched == report
    assert runs[1].report_digest == report_digest(report) != report_digest([])
    assert (reconciliation.runs, reconciliation.balanced) == (2, True)


def test_a_report_of_another_day_is_refused() -> None:
    reconciliation = Reconciliation.open(tenant="usingen", provider="simulator", day=DAY)
    other = settlement_row("sim_1", KZ_A, "1.00", date(2026, 3, 1))
    with pytest.raises(InvalidCommand) as refused:
        reconciliation.reconcile(actor=AUDITOR, at=AT, report_rows=[other], recorded_rows=[])
    assert refused.value.field == "report_rows.0.day"
