"""The public lists of a town's markets from the read model answer as the markets themselves
do (the fallback where no view is wired): the list of a year in the order published, with
its facts, window, applications, pitches assigned and version; those open now for the
catalogue's example, which is then the same. A view behind the log leaves the answer to the
markets. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from application.markets import MarketsInTheLog
from domain.services.market_stall_steps import town_examples
from infrastructure.demo import TOWNS
from infrastructure.demo_markets import CHRISTMAS, KERB, market_of, seed_markets
from infrastructure.market_directory import MarketsInTheView
from infrastructure.wiring import Vorgang
from projections.market_query import market_of as row_of

NOW = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)


class Open:
    """A source of open markets for the catalogue's example, as the market service is."""

    def __init__(self, directory: Any) -> None:
        self.directory = directory

    def markets_open_in(self, tenant: str, at: datetime) -> Any:
        return self.directory.open_in(tenant, at)


def summaries(directory: Any, tenant: str, at: datetime) -> list[tuple[Any, ...]]:
    return [
        (m.id, m.code, m.first_day, m.regime, tuple(m.categories), tuple(m.pitches))
        for m in directory.open_in(tenant, at)
    ]


def test_the_view_answers_as_the_markets_themselves(vorgang: Vorgang) -> None:
    for town in TOWNS[:2]:
        seed_markets(vorgang, town, NOW)
    kerb = market_of(vorgang, TOWNS[0], KERB.code, NOW)
    christmas = market_of(vorgang, TOWNS[0], CHRISTMAS.code, NOW)
    withdrawn = next(iter(christmas.applications))
    christmas.withdraw_application(
        case_id=withdrawn, actor=TOWNS[0].clerk, at=NOW, reason="Zurückgezogen"
    )
    vorgang.store.save(christmas)  # recorded still: the public list counts it
    in_the_view = MarketsInTheView(vorgang.store, vorgang.views, vorgang.projections)
    in_the_log = MarketsInTheLog(vorgang.store)
    years = sorted({kerb.year, christmas.year})
    # before applications opened; open; closed; long after
    for at in (NOW - timedelta(days=80), NOW, NOW + timedelta(days=25), NOW + timedelta(days=90)):
        for tenant in (t.tenant for t in TOWNS):
            for year in years:
                listed = in_the_view.listed(tenant, year, at)
                assert listed == in_the_log.listed(tenant, year, at), (tenant, year, at)
            assert summaries(in_the_view, tenant, at) == summaries(in_the_log, tenant, at)
        assert town_examples(at, Open(in_the_view)) == town_examples(at, Open(in_the_log))
    listed = [m for year in years for m in in_the_view.listed(TOWNS[0].tenant, year, NOW)]
    assert [m["id"] for m in listed] == [kerb.id, christmas.id]  # as published
    assert [(m["window"], m["applications"], m["assigned"]) for m in listed] == [
        ("closed", len(KERB.traders), len(KERB.pitches)),
        ("open", len(CHRISTMAS.traders), 0),
    ]
    assert [m.id for m in in_the_view.open_in(TOWNS[0].tenant, NOW)] == [christmas.id]
    assert set(town_examples(NOW, Open(in_the_view))) == {TOWNS[0].tenant, TOWNS[1].tenant}


def test_a_view_behind_the_log_leaves_the_answer_to_the_markets(
    vorgang: Vorgang, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = TOWNS[0]
    seed_markets(vorgang, town, NOW)
    christmas = market_of(vorgang, town, CHRISTMAS.code, NOW)
    vorgang.projections.catch_up()
    christmas.withdraw_application(
        case_id=next(iter(christmas.applications)),
        actor=town.clerk,
        at=NOW,
        reason="Zurückgezogen",
    )
    vorgang.store.save(christmas)  # after the view caught up
    stale = row_of(vorgang.views, christmas.id, now=NOW)
    assert stale is not None
    assert stale["version"] < christmas.version

    directory = MarketsInTheView(vorgang.store, vorgang.views, vorgang.projections)
    monkeypatch.setattr(vorgang.projections, "wait_for", lambda *_: False)  # never in time
    versions = [m["version"] for m in directory.listed(town.tenant, christmas.year, NOW)]
    assert versions[-1] == christmas.version  # the markets themselves answered
    monkeypatch.undo()
    versions = [m["version"] for m in directory.listed(town.tenant, christmas.year, NOW)]
    assert versions[-1] == christmas.version  # waited for the view: it reached the head
