"""The issuer's signing keys: a small cache of its JWKS that fails closed and never stalls.

- Keys are fetched again every ``refresh_seconds``: a key the issuer removed (revoked) is
  refused after the next refresh.
- A token naming an unknown ``kid`` triggers a fetch at once (a rotated key works
  immediately); the same unknown ``kid`` fetches again only after ``unknown_kid_cooldown``.
- At most one fetch is in flight. While it runs, a request whose key is cached uses it;
  one whose key is not waits at most ``wait_seconds`` for it, then gets
  ``IssuerUnavailable`` (503), so a hung issuer holds one worker thread, not all of them.
- A failed fetch is remembered: no new one before a back-off (1 s, doubling up to 60 s).
  Meanwhile cached keys keep working and unknown ones are ``IssuerUnavailable``.
- Without a JWKS URL, the issuer's discovery document
  (``{issuer}/.well-known/openid-configuration``) names it; it is fetched on first need
  (the API starts while the issuer is down) and must name the configured issuer.

Lock discipline: the lock guards the cache's state only and is never held during I/O.
"""

from __future__ import annotations

import json
import math
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import jwt
import structlog

from api.auth import IssuerUnavailable, Unauthenticated

log = structlog.get_logger(__name__)

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
REMEMBERED_KIDS = 1024  # unknown kids remembered for their cooldown (bounded memory)
MAX_DOCUMENT_BYTES = 1024 * 1024


class FetchFailed(Exception):
    """The issuer did not answer with a usable document."""


Fetch = Callable[[str, float], Any]


def fetch_json(url: str, timeout: float) -> Any:
    """GET ``url`` and parse its JSON body (``FetchFailed`` on any failure)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise FetchFailed(f"{url}: {error}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FetchFailed(f"{url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError:
        raise FetchFailed(f"{url}: not JSON") from None


def signing_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The usable signing keys of a JWKS document by ``kid`` (others are skipped)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise FetchFailed("the JWKS has no 'keys' list")
    keys = {}
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
            continue
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue  # a key type we do not verify with (an encryption key, an unknown curve)
    return keys


class SigningKeys:
    """The issuer's keys by ``kid``, refreshed, rate-limited and single-flight."""

    def __init__(
        self,
        *,
        issuer: str,
        jwks_url: str | None = None,
        refresh_seconds: float = 300.0,
        unknown_kid_cooldown: float = 10.0,
        fetch_timeout: float = 5.0,
        wait_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        fetch: Fetch = fetch_json,
    ) -> None:
        self.issuer = issuer
        self.refresh_seconds = refresh_seconds
        self.unknown_kid_cooldown = unknown_kid_cooldown
        self.fetch_timeout = fetch_timeout
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._fetch_json = fetch
        self._jwks_url = jwks_url
        self._lock = threading.Lock()
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._failures = 0
        self._last_error = ""
        self._in_flight: threading.Event | None = None
        self._kid_tried: OrderedDict[str, float] = OrderedDict()

    @property
    def fetching(self) -> bool:
        """Whether a fetch is in flight right now."""
        with self._lock:
            return self._in_flight is not None

    def key(self, kid: str) -> jwt.PyJWK:
        """The issuer's key ``kid``; ``Unauthenticated`` if it has none, else 503 while down."""
        now = self._clock()
        with self._lock:
            cached = self._keys.get(kid)
            fresh = self._fetched_at is not None and now - self._fetched_at < self.refresh_seconds
            if cached is not None and fresh:
                return cached
            if cached is None and fresh:
                tried = self._kid_tried.get(kid)
                if tried is not None and now - tried < self.unknown_kid_cooldown:
                    raise Unauthenticated(self._not_ours(kid))
            backoff = self._backoff_left(now)
            if backoff > 0:
                if cached is not None:
                    return cached  # the issuer is down: keep what it published last
                raise self._unavailable(backoff)
            if self._in_flight is None:
                done = self._in_flight = threading.Event()
                mine = True
                if cached is None:
                    self._remember_kid(kid, now)
            else:
                done = self._in_flight
                mine = False
        if mine:
            self._refresh(done)
        elif cached is not None:
            return cached  # a refresh runs elsewhere: this key was valid until a moment ago
        else:
            done.wait(self.wait_seconds)
        return self._after_fetch(kid)

    def _after_fetch(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                return key
            if self._in_flight is not None:
                raise IssuerUnavailable(
                    "the issuer is slow to publish its keys; try again shortly", 1
                )
            backoff = self._backoff_left(self._clock())
            if backoff > 0:
                raise self._unavailable(backoff)
            raise Unauthenticated(self._not_ours(kid))

    def _refresh(self, done: threading.Event) -> None:
        try:
            url = self._jwks_url or self._discover()
            keys = signing_keys(self._fetch_json(url, self.fetch_timeout))
        except FetchFailed as error:
            with self._lock:
                self._failed_at = self._clock()
                self._failures += 1
                self._last_error = str(error)
                failures = self._failures
            log.warning("issuer keys unavailable", error=str(error), failures=failures)
        else:
            with self._lock:
                removed = sorted(set(self._keys) - set(keys))
                self._keys = keys
                self._jwks_url = url
                self._fetched_at = self._clock()
                self._failed_at = None
                self._failures = 0
            if removed:
                log.info("issuer keys withdrawn", kids=removed)
        finally:
            with self._lock:
                self._in_flight = None
            done.set()

    def _discover(self) -> str:
        url = self.issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = self._fetch_json(url, self.fetch_timeout)
        if not isinstance(document, dict):
            raise FetchFailed(f"{url}: not a discovery document")
        if document.get("issuer") != self.issuer:
            raise FetchFailed(
                f"{url} names the issuer {document.get('issuer')!r}, "
                f"expected {self.issuer!r} (VORGANG_OIDC_ISSUER)"
            )
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not jwks_uri:
            raise FetchFailed(f"{url} names no jwks_uri")
        return jwks_uri

    def _backoff_left(self, now: float) -> float:
        if self._failed_at is None:
            return 0.0
        backoff = min(BACKOFF_MAX, BACKOFF_FIRST * 2.0 ** min(self._failures - 1, 16))
        return self._failed_at + backoff - now

    def _unavailable(self, backoff: float) -> IssuerUnavailable:
        return IssuerUnavailable(
            f"the keys of the issuer {self.issuer} cannot be fetched right now "
            f"({self._last_error}); try again shortly",
            math.ceil(backoff),
        )

    def _remember_kid(self, kid: str, now: float) -> None:
        self._kid_tried[kid] = now
        self._kid_tried.move_to_end(kid)
        while len(self._kid_tried) > REMEMBERED_KIDS:
            self._kid_tried.popitem(last=False)

    def _not_ours(self, kid: str) -> str:
        return f"the token's key {kid[:64]!r} is not one of the issuer's keys ({self.issuer})"
