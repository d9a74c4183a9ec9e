"""The SSRF guard: private, loopback, link-local and metadata targets are refused outside
development; each delivery resolves once and connects to the address it checked."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from application.clock import FixedClock
from application.webhooks import UnsafeUrl, WebhookRequest
from infrastructure.ssrf import SsrfGuard
from infrastructure.webhook_delivery import PinnedSender, retry_after_seconds


def answering(*addresses: str) -> SsrfGuard:
    return SsrfGuard(resolve=lambda host, port: list(addresses))


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.178.1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("fd00:ec2::254", "metadata"),
        ("100.100.100.200", "metadata"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "public"),  # shared address space (carrier-grade NAT)
        ("0.0.0.0", "unicast"),  # noqa: S104 - the address refused, not bound
        ("224.0.0.1", "unicast"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
    ],
)
def test_a_host_resolving_to_an_internal_address_is_refused_outside_development(
    address: str, why: str
) -> None:
    with pytest.raises(UnsafeUrl) as refused:
        answering(address).check("https://hooks.example/in")
    assert why in str(refused.value)
    assert str(ipaddress.ip_address(address)) in str(refused.value)


def test_an_address_in_the_url_is_judged_without_a_lookup() -> None:
    guard = SsrfGuard(resolve=lambda host, port: pytest.fail("no lookup for an address"))
    with pytest.raises(UnsafeUrl):
        guard.check("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(UnsafeUrl):
        guard.check("http://[::1]:8080/")


def test_one_internal_address_among_public_ones_refuses_the_host() -> None:
    with pytest.raises(UnsafeUrl):
        answering("93.184.215.14", "10.0.0.5").check("https://hooks.example/")


def test_a_public_host_is_allowed_and_pinned_to_the_address_checked() -> None:
    target = answering("93.184.215.14").target("https://hooks.example:8443/in?x=1")
    assert str(target.address) == "93.184.215.14"
    assert target.pinned_url("https://hooks.example:8443/in?x=1") == (
        "https://93.184.215.14:8443/in?x=1"
    )
    assert target.host_header == "hooks.example:8443"
    six = answering("2606:2800:21f:cb07:6820:80da:af6b:8b2c").target("https://h.example/")
    assert (
        six.pinned_url("https://h.example/")
        == "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:443/"
    )
    assert six.host_header == "h.example"


def test_the_allow_list_admits_a_network_or_a_host_name() -> None:
    by_network = SsrfGuard(allow=["10.20.0.0/16"], resolve=lambda h, p: ["10.20.1.2"])
    by_network.check("https://archiv.intern/")
    by_name = SsrfGuard(allow=["archiv.intern"], resolve=lambda h, p: ["192.168.1.9"])
    by_name.check("https://ARCHIV.intern./hooks")
    with pytest.raises(UnsafeUrl):
        by_network.check("http://127.0.0.1/")


def test_development_allows_every_address_and_still_pins_it() -> None:
    guard = SsrfGuard(development=True, resolve=lambda h, p: ["127.0.0.1"])
    guard.check("http://localhost:9/")
    assert str(guard.target("http://localhost:9/").address) == "127.0.0.1"


def test_a_host_that_does_not_resolve_is_refused() -> None:
    def fails(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeUrl) as refused:
        SsrfGuard(resolve=fails).check("https://nowhere.invalid/")
    assert "does not resolve" in str(refused.value)


class Recorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        Recorder.seen.append((self.path, self.headers.get("host")))
        self.send_response(302)
        self.send_header("location", "http://127.0.0.1:1/elsewhere")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_the_sender_connects_to_the_checked_address_with_the_urls_name_and_no_redirect(
    receiver: int,
) -> None:
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["203.0.113.9"]  # rebinding after

    guard = SsrfGuard(allow=["127.0.0.0/8"], resolve=resolve)
    sender = PinnedSender(guard, FixedClock(datetime.now(UTC)))
    request = WebhookRequest(
        f"http://hooks.example:{receiver}/in", {"webhook-id": "e1"}, b"{}", timeout=5
    )

    response = sender.send(request)

    assert response.status == 302  # the redirect was not followed
    assert not response.delivered
    assert Recorder.seen == [("/in", f"hooks.example:{receiver}")]
    assert lookups == ["hooks.example"]  # one lookup per delivery


def test_the_sender_refuses_before_connecting_when_the_guard_refuses() -> None:
    sender = PinnedSender(answering("10.0.0.1"), FixedClock(datetime.now(UTC)))
    response = sender.send(WebhookRequest("https://h.example/", {}, b"{}", timeout=5))
    assert response.status is None
    assert "SSRF" in str(response.error)


def test_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Mon, 07 Dec 2026 09:01:30 GMT", now) == 90.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
