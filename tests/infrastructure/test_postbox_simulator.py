"""The postbox simulator behaves as the BundID postbox: portal accounts only, one message per
key, retrieved or failed (bounced, not retrieved within ten days), reported with the day."""

from __future__ import annotations

import multiprocessing
from datetime import date, timedelta
from pathlib import Path

import pytest

from application.document_ports import ChannelRefused, Report
from domain.documents import Outcome
from infrastructure.documents.postbox import (
    NOT_RETRIEVED,
    MessageNotAccepted,
    MessageState,
    PostboxSimulator,
)

SENT = date(2026, 3, 3)
ACCOUNT = "portal:4711"
PDF = b"%PDF-1.7 a decision"


def send(postbox: PostboxSimulator, key: str = "case-1/1/1", on: date = SENT) -> str:
    return postbox.send(key=key, account=ACCOUNT, subject="Bescheid", pdf=PDF, on=on)


def test_a_message_goes_into_the_accounts_postbox_once_per_key(tmp_path: Path) -> None:
    postbox = PostboxSimulator(tmp_path)
    first = send(postbox)
    again = send(PostboxSimulator(tmp_path))  # another instance (another process) alike
    assert first == again
    (message,) = postbox.messages(ACCOUNT)
    assert (message.message_id, message.state, message.pdf) == (first, MessageState.ACCEPTED, PDF)
    assert send(postbox, key="case-1/1/2") != first
    assert postbox.messages("portal:other") == []


def test_only_an_account_of_the_portal_has_a_postbox(tmp_path: Path) -> None:
    postbox = PostboxSimulator(tmp_path)
    for account in ("anna.schmidt", "paper", ""):
        with pytest.raises(ChannelRefused, match="no postbox for this account"):
            postbox.send(key="k", account=account, subject="Bescheid", pdf=PDF, on=SENT)
    assert postbox.status(["k"]) == []


def test_status_reports_retrieved_and_failed_messages_with_their_day_not_accepted_ones(
    tmp_path: Path,
) -> None:
    postbox = PostboxSimulator(tmp_path)
    retrieved, bounced, waiting = (send(postbox, key=k) for k in ("a", "b", "c"))
    assert postbox.status([retrieved, bounced, waiting]) == []
    postbox.retrieve(retrieved, SENT + timedelta(days=2))
    postbox.retrieve(retrieved, SENT + timedelta(days=5))  # the first opening counts
    postbox.bounce(bounced, SENT + timedelta(days=1), "Postfach gelöscht")
    assert sorted(postbox.status([retrieved, bounced, waiting, "unknown"]), key=str) == sorted(
        [
            Report(retrieved, Outcome.RETRIEVED, SENT + timedelta(days=2)),
            Report(bounced, Outcome.FAILED, SENT + timedelta(days=1), "Postfach gelöscht"),
        ],
        key=str,
    )
    assert postbox.status([waiting]) == []


def test_a_message_not_retrieved_within_ten_days_fails_the_day_after(tmp_path: Path) -> None:
    postbox = PostboxSimulator(tmp_path)
    message = send(postbox)
    retrieved_in_time = send(postbox, key="in time")
    assert postbox.expire(SENT + timedelta(days=10)) == 0  # the tenth day still counts
    postbox.retrieve(retrieved_in_time, SENT + timedelta(days=10))
    assert postbox.expire(SENT + timedelta(days=20)) == 1  # whenever it runs: the 11th day
    assert postbox.status([message]) == [
        Report(message, Outcome.FAILED, SENT + timedelta(days=11), NOT_RETRIEVED)
    ]
    assert postbox.expire(SENT + timedelta(days=30)) == 0
    with pytest.raises(MessageNotAccepted):
        postbox.retrieve(message, SENT + timedelta(days=30))
    with pytest.raises(MessageNotAccepted):
        postbox.bounce(retrieved_in_time, SENT + timedelta(days=30), "zu spät")
    with pytest.raises(LookupError):
        postbox.retrieve("no such message", SENT)


def _send_many(directory: str, worker: int) -> list[str]:
    postbox = PostboxSimulator(directory)
    return [
        postbox.send(key=f"key-{i}", account=ACCOUNT, subject="Bescheid", pdf=PDF, on=SENT)
        for i in range(20)
    ]


def test_two_processes_sending_the_same_keys_store_each_message_once(tmp_path: Path) -> None:
    PostboxSimulator(tmp_path)  # the schema, before the race
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        first, second = pool.starmap(_send_many, [(str(tmp_path), 1), (str(tmp_path), 2)])
    assert first == second
    assert len(PostboxSimulator(tmp_path).messages(ACCOUNT)) == 20
