"""Signing in to the clerk console: a sealed session cookie, the OIDC code flow with PKCE.

The session lives in the cookie — the signed-in person (as their token named them), a random
session id, the CSRF token and the expiry, sealed with AES-GCM under a key derived (HKDF) from
``VORGANG_ID_SECRET`` — so every API process reads it and none keeps memory of it. The cookie
is HttpOnly, SameSite=Lax, Secure in production (whatever scheme the request names) or when
the console is reached over https, and scoped to ``/console``. Sign-out clears it and records
its session id as signed out until its expiry (``application.console_sessions``, a table in
the database of the views): a copy of the cookie taken before opens nothing afterwards, in
any process. Opening a session cookie costs one primary-key lookup in that table a request.

Production: ``/console/sign-in/oidc`` sends the browser to the issuer's authorization
endpoint (``response_type=code``, S256 PKCE, ``state``); the callback checks ``state`` against
the sealed flow cookie, exchanges the code with the ``code_verifier`` at the token endpoint,
and verifies the access token with the API's own verifier (``api.oidc``): the console admits
exactly whom the API admits. In development the sign-in page also takes a token from
``vorgang token``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Annotated, Any

import anyio
import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi import Depends, Request
from fastapi.responses import Response

from api.auth import TokenVerifier
from api.jwks import FetchFailed, fetch_json
from api.provider import VorgangProvider
from domain.actor import Actor, Role, Scope

SESSION_COOKIE = "vorgang_console"
FLOW_COOKIE = "vorgang_console_flow"  # the sign-in in progress: CSRF, state, PKCE verifier
COOKIE_PATH = "/console"
FLOW_SECONDS = 600  # a sign-in must finish within ten minutes
CONSOLE_ROLES = frozenset({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN})
SEAL_VERSION = b"v1."


class SignInRequired(Exception):
    """No valid session: pages redirect to the sign-in page, htmx requests are told to."""

    def __init__(self, next_path: str = "/console/") -> None:
        super().__init__("sign-in required")
        self.next_path = next_path


class ConsoleForbidden(Exception):
    """A signed-in person whose roles do not open this page (403, shown as a page)."""


@dataclass(frozen=True)
class Session:
    """A signed-in person in the console, as the sealed cookie holds them."""

    actor: Actor
    sid: str
    csrf: str
    expires: int  # Unix seconds


class Sealer:
    """Seals and opens small JSON values with AES-GCM under a key derived from a secret."""

    def __init__(self, secret: str, purpose: bytes) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"vorgang console " + purpose
        ).derive(secret.encode())
        self._aead = AESGCM(key)
        self._purpose = purpose

    def seal(self, value: dict[str, Any]) -> str:
        """The value, encrypted and authenticated, as cookie-safe text."""
        nonce = secrets.token_bytes(12)
        data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
        sealed = self._aead.encrypt(nonce, data, self._purpose)
        return (SEAL_VERSION + base64.urlsafe_b64encode(nonce + sealed).rstrip(b"=")).decode()

    def open(self, text: str | None) -> dict[str, Any] | None:
        """The value sealed in ``text``; None for anything altered, foreign or malformed."""
        if not text or not text.startswith(SEAL_VERSION.decode()) or len(text) > 8000:
            return None
        raw = text[len(SEAL_VERSION) :]
        try:
            blob = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            data = self._aead.decrypt(blob[:12], blob[12:], self._purpose)
            value = json.loads(data)
        except (ValueError, InvalidTag):
            return None
        return value if isinstance(value, dict) else None


def sealer(request: Request, purpose: bytes) -> Sealer:
    """The process's sealer for ``purpose`` (made once; the key never leaves memory)."""
    state = request.app.state
    cache: dict[bytes, Sealer] = state.__dict__.setdefault("console_sealers", {})
    if purpose not in cache:
        cache[purpose] = Sealer(state.settings.id_secret.get_secret_value(), purpose)
    return cache[purpose]


def actor_claims(actor: Actor) -> dict[str, Any]:
    """What the cookie keeps of a person: what their token said, resolved again per request."""
    return {
        "id": actor.id,
        "name": actor.display_name,
        "role": actor.role.value,
        "roles": sorted(r.value for r in actor.roles),
        "tenant": actor.tenant,
        "on_behalf_of": actor.on_behalf_of,
        "scopes": sorted(s.value for s in actor.scopes),
        "teams": sorted(actor.teams),
        "team_claim": sorted(actor.team_claim),
    }


def actor_from(claims: dict[str, Any]) -> Actor:
    """The person a sealed cookie names (the cookie is authenticated: no re-validation)."""
    return Actor(
        id=str(claims["id"]),
        display_name=str(claims["name"]),
        role=Role(claims["role"]),
        roles=frozenset(Role(r) for r in claims["roles"]),
        tenant=str(claims["tenant"]),
        on_behalf_of=claims.get("on_behalf_of"),
        scopes=frozenset(Scope(s) for s in claims.get("scopes", ())),
        teams=frozenset(claims.get("teams", ())),
        team_claim=frozenset(claims.get("team_claim", ())),
    )


def is_https(request: Request) -> bool:
    """Whether the console's cookies are Secure: always in production, else over https.

    In production the console is only ever reached over https, even when a proxy in front
    forwards plain http without ``X-Forwarded-Proto``: the request's scheme does not decide.
    """
    if str(request.app.state.settings.environment) == "production":
        return True
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, seconds: int) -> None:
    """An HttpOnly, SameSite=Lax cookie under /console, Secure over https."""
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=COOKIE_PATH,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    """Remove a console cookie."""
    response.delete_cookie(
        name, path=COOKIE_PATH, httponly=True, secure=is_https(request), samesite="lax"
    )


def _sealed_session(request: Request) -> Session | None:
    """The session the request's cookie seals, unexpired (not yet asked whether signed out)."""
    value = sealer(request, b"session").open(request.cookies.get(SESSION_COOKIE))
    if value is None or int(value.get("exp", 0)) <= time.time():
        return None
    try:
        return Session(
            actor=actor_from(value["actor"]),
            sid=str(value["sid"]),
            csrf=str(value["csrf"]),
            expires=int(value["exp"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _signed_out(request: Request, sid: str) -> bool:
    """Whether the session was signed out, in any process (one primary-key lookup)."""
    provider: VorgangProvider = request.app.state.provider
    return provider.get().signed_out.signed_out(sid)


def session_of(request: Request) -> Session | None:
    """The request's valid, unexpired, not signed-out session, or None.

    Asked once per request (the answer is kept in the request's scope): ``load_session``,
    the console's first dependency, asks off the event loop; a page that did not pass it
    (an error page) asks here.
    """
    cached = request.scope.get("vorgang.console_session", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    found = _sealed_session(request)
    if found is not None and _signed_out(request, found.sid):
        found = None
    request.scope["vorgang.console_session"] = found
    return found


async def load_session(request: Request) -> None:
    """Open the request's session (its signed-out check in a worker thread) before any route."""
    if request.scope.get("vorgang.console_session", False) is not False:
        return
    found = _sealed_session(request)
    if found is not None and await anyio.to_thread.run_sync(_signed_out, request, found.sid):
        found = None
    request.scope["vorgang.console_session"] = found


def start_session(
    response: Response, request: Request, actor: Actor, not_after: int | None = None
) -> Session:
    """Sign ``actor`` in: a new session id and CSRF token in a fresh sealed cookie.

    The session ends after ``VORGANG_CONSOLE_SESSION_HOURS``, and never after ``not_after``
    (the expiry of the token it was opened with).
    """
    now = int(time.time())
    expires = now + int(request.app.state.settings.console_session_hours * 3600)
    if not_after is not None:
        expires = min(expires, not_after)
    seconds = max(1, expires - now)
    session = Session(
        actor=actor,
        sid=secrets.token_urlsafe(16),
        csrf=secrets.token_urlsafe(32),
        expires=expires,
    )
    sealed = sealer(request, b"session").seal(
        {
            "actor": actor_claims(actor),
            "sid": session.sid,
            "csrf": session.csrf,
            "exp": session.expires,
        }
    )
    set_cookie(response, request, SESSION_COOKIE, sealed, seconds)
    clear_cookie(response, request, FLOW_COOKIE)
    request.scope["vorgang.console_session"] = session
    return session


def end_session(response: Response, request: Request) -> None:
    """Sign out (blocking): the session is recorded as signed out until its expiry, for every
    process and every copy of its cookie, and the browser's cookie goes."""
    session = session_of(request)
    if session is not None:
        provider: VorgangProvider = request.app.state.provider
        provider.get().signed_out.sign_out(session.sid, session.expires)
    clear_cookie(response, request, SESSION_COOKIE)
    request.scope["vorgang.console_session"] = None


def admitted(actor: Actor) -> bool:
    """Whether this person may use the console at all (staff, auditors, admins)."""
    return not actor.roles.isdisjoint(CONSOLE_ROLES)


def next_path(request: Request) -> str:
    """Where to come back after signing in: this page (path only: no query, no data)."""
    path = request.url.path
    if request.headers.get("HX-Request") == "true":
        current = request.headers.get("HX-Current-URL", "")
        path = urllib.parse.urlsplit(current).path or "/console/"
    return safe_next(path)


def safe_next(path: str | None) -> str:
    """A path inside the console, never another site (``//evil``, ``/console/../``)."""
    if not path or not path.startswith("/console/") or "//" in path or ".." in path:
        return "/console/"
    if "\\" in path or any(ord(c) < 0x20 for c in path):
        return "/console/"
    return path


def console_actor(request: Request) -> Actor:
    """The signed-in person (their teams' services resolved from the roster), or sign-in.

    Raises ``SignInRequired`` (a redirect to the sign-in page) without a valid session. The
    actor acts in their primary console role; a page that needs another narrows it with
    ``Actor.acting_in`` as the API's routes do.
    """
    session = session_of(request)
    if session is None:
        raise SignInRequired(next_path(request))
    person = session.actor.acting_in(CONSOLE_ROLES)
    if person.team_claim or person.teams:
        provider: VorgangProvider = request.app.state.provider
        person = provider.get().teams.resolve(person)
    return person


ConsoleActor = Annotated[Actor, Depends(console_actor)]


def verify_token(request: Request, token: str) -> Actor:
    """The person a bearer token names, by the API's own verifier (development or OIDC)."""
    verifier: TokenVerifier = request.app.state.verifier
    return verifier.verify(token)


def token_expiry(token: str) -> int | None:
    """The ``exp`` of a token the verifier has just accepted (read, not verified again)."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    exp = claims.get("exp")
    return int(exp) if isinstance(exp, int | float) else None


# --- the authorization code flow with PKCE -------------------------------------------


class IssuerError(Exception):
    """The issuer did not answer as the code flow needs (shown as a sign-in error)."""


@dataclass(frozen=True)
class Endpoints:
    """The issuer's endpoints the console uses."""

    authorization: str
    token: str


class CodeFlow:
    """The console's OIDC client: discovery, the authorization URL, the code exchange."""

    def __init__(
        self, issuer: str, client_id: str, client_secret: str | None, timeout: float
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.timeout = timeout
        self._endpoints: Endpoints | None = None

    def endpoints(self) -> Endpoints:
        """From the issuer's discovery document (fetched once per process, blocking)."""
        if self._endpoints is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                document = fetch_json(url, self.timeout)
            except FetchFailed as error:
                raise IssuerError(str(error)) from None
            if not isinstance(document, dict):
                raise IssuerError("the discovery document is not an object")
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise IssuerError("the discovery document names another issuer")
            authorization = document.get("authorization_endpoint")
            token = document.get("token_endpoint")
            if not isinstance(authorization, str) or not isinstance(token, str):
                raise IssuerError("the discovery document names no authorization/token endpoint")
            self._endpoints = Endpoints(authorization=authorization, token=token)
        return self._endpoints

    def authorization_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        """Where the browser signs in (blocking: may fetch the discovery document)."""
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        endpoint = self.endpoints().authorization
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> str:
        """The access token for an authorization code (blocking)."""
        fields = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "client_id": self.client_id,
            "code_verifier": verifier,
        }
        if self.client_secret:
            fields["client_secret"] = self.client_secret
        request = urllib.request.Request(  # noqa: S310 (the configured issuer's https URL)
            self.endpoints().token,
            data=urllib.parse.urlencode(fields).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.loads(response.read(1024 * 1024))
        except urllib.error.HTTPError as error:
            raise IssuerError(f"the issuer refused the code ({error.code})") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise IssuerError(f"the issuer's token endpoint did not answer: {error}") from None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise IssuerError("the issuer answered without an access token")
        return token


def code_flow(request: Request) -> CodeFlow | None:
    """The console's OIDC client, or None without a configured issuer (development)."""
    state = request.app.state
    flow: CodeFlow | None = getattr(state, "console_code_flow", None)
    settings = state.settings
    if flow is None and settings.oidc_issuer:
        secret = settings.oidc_client_secret
        flow = CodeFlow(
            settings.oidc_issuer,
            settings.oidc_client_id,
            secret.get_secret_value() if secret else None,
            settings.oidc_fetch_timeout_seconds,
        )
        state.console_code_flow = flow
    return flow


def pkce_pair() -> tuple[str, str]:
    """A code verifier (RFC 7636: 43-128 characters) and its S256 challenge."""
    verifier = secrets.token_urlsafe(64)[:96]
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def flow_of(request: Request) -> dict[str, Any]:
    """The sign-in in progress (CSRF token, state, verifier), or an empty one."""
    value = sealer(request, b"flow").open(request.cookies.get(FLOW_COOKIE))
    if value is None or int(value.get("exp", 0)) <= time.time():
        return {}
    return value


def save_flow(response: Response, request: Request, flow: dict[str, Any]) -> None:
    """Keep the sign-in in progress in its own short-lived sealed cookie."""
    flow = {**flow, "exp": int(time.time()) + FLOW_SECONDS}
    set_cookie(response, request, FLOW_COOKIE, sealer(request, b"flow").seal(flow), FLOW_SECONDS)


def same(a: str | None, b: str | None) -> bool:
    """Constant-time equality of two present strings."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a).encode(), str(b).encode())


async def begin_code_flow(
    request: Request, flow: CodeFlow, next_to: str
) -> tuple[str, dict[str, Any]]:
    """The issuer's authorization URL and the flow state to seal for the callback."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    redirect_uri = str(request.url_for("console_callback"))
    url = await anyio.to_thread.run_sync(flow.authorization_url, redirect_uri, state, challenge)
    return url, {"state": state, "verifier": verifier, "next": safe_next(next_to)}
