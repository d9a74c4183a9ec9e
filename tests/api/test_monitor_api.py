"""The Bürgermonitor's public routes: the town's list, 404s, and how a screen resumes its stream.

A board is a whole snapshot, so a reconnecting screen gets the board at once unless it
shows that very position already; an odd ``Last-Event-ID`` never earns an error (an
EventSource would stop for good). The live updates in a real browser are
``tests/e2e/test_monitor_browser.py``.
"""

from __future__ import annotations

from fastapi.testclient import TestClient

from application.clock import FixedClock
from tests.projections.test_call_board import Counter

EVENTS = "/monitor/usingen/buergerbuero/events"


def a_called_ticket(client: TestClient, clock: FixedClock) -> int:
    """A walk-in called to counter 2; returns the board's position once the view has it."""
    vorgang = client.app.state.provider.get()  # type: ignore[attr-defined]
    desk = Counter(vorgang, clock)
    desk.walk_in()
    desk.call_next("Schalter 2")
    head = vorgang.store.recorder.max_notification_id()
    assert vorgang.projections.wait_for("call_board", head, timeout=60)
    return int(head)


def test_the_town_lists_its_offices_with_a_link_to_each_monitor(client: TestClient) -> None:
    response = client.get("/monitor/usingen")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'lang="de"' in response.text
    assert 'href="/monitor/usingen/buergerbuero"' in response.text
    assert "Bürgerbüro Usingen" in response.text


def test_an_unknown_town_or_office_is_a_problem_not_a_page(client: TestClient) -> None:
    for path in ("/monitor/atlantis", "/monitor/usingen/keller", "/monitor/atlantis/x/events"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"


def test_the_page_shows_the_newest_call_and_the_waiting_counts_without_a_token(
    client: TestClient, clock: FixedClock
) -> None:
    a_called_ticket(client, clock)
    page = client.get("/monitor/usingen/buergerbuero")
    assert page.status_code == 200
    assert "W001" in page.text
    assert "Schalter 2" in page.text
    assert "Ton einschalten" in page.text
    assert "Anna Schmidt" not in page.text  # the clerk who called: never on screen
    kiosk = client.get("/monitor/usingen/buergerbuero?kiosk=1").text
    assert 'data-kiosk="1"' in kiosk  # sound from the start, no button to press
    assert '<button id="sound" type="button" hidden>' in kiosk


def test_a_screen_gets_the_board_at_once_unless_it_shows_that_position_already(
    client: TestClient, clock: FixedClock
) -> None:
    position = a_called_ticket(client, clock)
    fresh = client.get(EVENTS).text
    assert f"event: board\nid: {position}\n" in fresh
    assert '"ticket": "W001"' in fresh
    assert "text/event-stream" in client.get(EVENTS).headers["content-type"]

    current = client.get(EVENTS, headers={"Last-Event-ID": str(position)}).text
    assert current.startswith("retry: ")
    assert "event: board" not in current  # the screen is up to date: nothing to send

    for stale in (str(position - 1), "0", "not-a-number", "99999999999999999999999"):
        resumed = client.get(EVENTS, headers={"Last-Event-ID": stale})
        assert resumed.status_code == 200, stale
        assert f"id: {position}\n" in resumed.text, stale

    assert "event: board" not in client.get(f"{EVENTS}?after={position}").text
    assert f"id: {position}\n" in client.get(f"{EVENTS}?after=1").text
