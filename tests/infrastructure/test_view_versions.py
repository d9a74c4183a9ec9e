"""A view's schema change ships as a new version: built from the log on start, not ready
until built, the previous version left serving for the processes still on it, then pruned.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from domain.actor import Actor, Role
from infrastructure.projection_host import ProjectionHost
from infrastructure.projection_rebuild import prune, superseded_views
from infrastructure.projection_runner import TRACKING
from infrastructure.wiring import Vorgang
from projections.inbox import Inbox
from tests.steps import submitted

APPLICANT = Actor("portal:7", "Erika", Role.APPLICANT, "usingen")


class InboxNextRelease(Inbox):
    version = Inbox.version + 1


CURRENT = Inbox().key  # the inbox this release serves
NEXT = InboxNextRelease().key


def submit(vorgang: Vorgang, n: int) -> None:
    for i in range(n):
        submitted(
            vorgang.cases, data={"subject": "s"}, applicant={"name": f"P{i}"}, actor=APPLICANT
        )


def count(vorgang: Vorgang, table: str) -> int:
    return int(vorgang.views.query(f"SELECT COUNT(*) FROM {table}")[0][0])  # noqa: S608


def test_a_new_version_builds_itself_while_the_previous_one_keeps_serving(
    vorgang: Vorgang,
) -> None:
    submit(vorgang, 12)
    vorgang.projections.catch_up()
    assert vorgang.projections.being_built() == {}
    head = vorgang.store.recorder.max_notification_id()

    release = ProjectionHost(
        vorgang.store, vorgang.views, [InboxNextRelease()], search_key=b"k" * 32
    )
    assert release.being_built() == {NEXT: (0, head)}
    assert count(vorgang, CURRENT) == 12  # the previous version still answers in full

    release.catch_up()
    assert release.being_built() == {}
    assert count(vorgang, NEXT) == 12
    assert count(vorgang, CURRENT) == 12  # kept for processes still on the old release

    assert superseded_views(vorgang.views, [InboxNextRelease()]) == [CURRENT]
    assert superseded_views(vorgang.views, [Inbox()]) == []  # never a newer version
    dropped = prune(vorgang.views, [CURRENT])
    assert dropped == {CURRENT: [CURRENT]}
    names = {r[0] for r in vorgang.views.query(f"SELECT name FROM {TRACKING}")}  # noqa: S608
    assert CURRENT not in names
    assert NEXT in names
    assert count(vorgang, NEXT) == 12


def test_a_process_is_not_ready_until_its_views_are_built(vorgang: Vorgang) -> None:
    submit(vorgang, 3)
    app = create_app(vorgang.settings, builder=lambda: vorgang, run_projections=False)
    with TestClient(app) as client:
        waiting = client.get("/ready")
        assert waiting.status_code == 503
        assert waiting.headers["content-type"].startswith("application/problem+json")
        assert CURRENT in waiting.json()["detail"]
        assert "of" in waiting.json()["detail"]
        vorgang.projections.catch_up()
        assert client.get("/ready").status_code == 200
        submit(vorgang, 1)  # a view once built stays ready while it follows the log
        assert client.get("/ready").status_code == 200
