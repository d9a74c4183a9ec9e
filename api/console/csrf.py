"""CSRF protection for every console form: a per-session token checked on every POST.

The token is random, made at sign-in and sealed in the session cookie (before sign-in: in the
sign-in flow's cookie), so any API process can check it. Pages put it into each form with
``csrf_field(request)`` and into htmx requests as the ``X-CSRF-Token`` header (``base.html``
sets ``hx-headers`` on the body). ``csrf_protect`` runs before every console route: a POST,
PUT, PATCH or DELETE without the token of its session is refused (403) before it does
anything. SameSite=Lax on the cookies is a second, independent barrier.

Forms are read with ``read_form`` (``application/x-www-form-urlencoded``, as browsers and
htmx send them), cached per request so the route reads the same fields the check read.
"""

from __future__ import annotations

import re
import secrets
import urllib.parse

from fastapi import Request
from markupsafe import Markup, escape
from starlette.datastructures import FormData, UploadFile

from api.console.session import (
    SignInRequired,
    flow_of,
    load_session,
    next_path,
    safe_next,
    same,
    session_of,
)

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 256 * 1024
SIGN_IN_PATH = "/console/sign-in"
COMMAND_SUFFIX = re.compile(r"/commands/[^/]+$")  # a case's command: back to the case page
POST_ONLY = frozenset({"/console/search", "/console/sign-out"})


class CsrfRefused(Exception):
    """A state-changing request without its session's CSRF token (403)."""


def csrf_token(request: Request) -> str:
    """The CSRF token of this browser: the session's, or the sign-in flow's.

    Before sign-in a new one is made if the flow has none; the sign-in page keeps it in the
    flow cookie (``request.scope['vorgang.console_flow_csrf']``).
    """
    session = session_of(request)
    if session is not None:
        return session.csrf
    token = flow_of(request).get("csrf") or request.scope.get("vorgang.console_flow_csrf")
    if not token:
        token = secrets.token_urlsafe(32)
    request.scope["vorgang.console_flow_csrf"] = token
    return str(token)


def csrf_field(request: Request) -> Markup:
    """The hidden form field carrying the CSRF token (for every console ``<form>``)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(
        CSRF_FIELD, escape(csrf_token(request))
    )


async def read_form(request: Request) -> FormData:
    """The request's urlencoded form fields (read once, cached for the route)."""
    cached = request.scope.get("vorgang.console_form")
    if isinstance(cached, FormData):
        return cached
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fields: list[tuple[str, str | UploadFile]] = []
    if content_type == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise CsrfRefused("the form is too large")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CsrfRefused("the form is not UTF-8") from None
        fields = list(urllib.parse.parse_qsl(text, keep_blank_values=True))
    form = FormData(fields)
    request.scope["vorgang.console_form"] = form
    return form


def page_of_post(request: Request) -> str:
    """The page a form was sent from: htmx names it, else the form's own page by its path."""
    if request.headers.get("HX-Request") == "true":
        return next_path(request)
    path = COMMAND_SUFFIX.sub("", request.url.path)
    return safe_next(path if path not in POST_ONLY else "/console/")


def expected_token(request: Request) -> str | None:
    """The token this browser must send: its session's, or its sign-in flow's."""
    session = session_of(request)
    if session is not None:
        return session.csrf
    found = flow_of(request).get("csrf")
    return str(found) if found else None


async def check_csrf(request: Request) -> None:
    """Refuse (``CsrfRefused``) a state-changing request without the right token.

    Without a session (expired, signed out) a form other than the sign-in's leads to the
    sign-in and back to the page it was sent from, not to a bare 403.
    """
    if request.method in SAFE_METHODS:
        return
    if session_of(request) is None and request.url.path != SIGN_IN_PATH:
        raise SignInRequired(page_of_post(request))
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        field = (await read_form(request)).get(CSRF_FIELD)
        sent = field if isinstance(field, str) else None
    if not same(sent, expected_token(request)):
        raise CsrfRefused("the form's CSRF token is missing or not this session's")


async def csrf_protect(request: Request) -> None:
    """Dependency of the whole console: the session is opened (off the event loop), then
    every POST is checked before its route runs."""
    await load_session(request)
    await check_csrf(request)
