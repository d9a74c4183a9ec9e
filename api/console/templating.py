"""The console's Jinja2 templates and the one way pages are rendered.

``render(request, "console/x.html", **context)`` gives every template ``request``, the
signed-in ``session`` (or None), ``csrf_field(request)`` and ``csrf_token(request)``, and
sets the headers every console page carries (no caching: pages show personal data).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from api.console.csrf import csrf_field, csrf_token
from api.console.session import flow_of, save_flow, session_of
from domain.actor import Actor, Role
from domain.tenants import TENANTS
from domain.working_days import BERLIN

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Scripts and styles from the console's own static files only; no inline script.
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
}


def german_date(value: str | date | datetime | None) -> str:
    """``07.12.2026`` (a datetime in Europe/Berlin); an empty string for nothing."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(BERLIN)
        return value.strftime("%d.%m.%Y %H:%M")
    return value.strftime("%d.%m.%Y")


def town(tenant: str | None) -> str:
    """A tenant's display name (``Usingen``)."""
    if tenant is None:
        return ""
    found = TENANTS.get(tenant)
    return found.display_name if found else tenant


def reads_cases(actor: Actor) -> bool:
    """Whether the Posteingang and cases are open to this person (not to admins)."""
    return not actor.roles.isdisjoint({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR})


TEMPLATES.globals |= {
    "reads_cases": reads_cases,
    "csrf_field": csrf_field,
    "csrf_token": csrf_token,
    "german_date": german_date,
    "town": town,
}
TEMPLATES.filters |= {"german_date": german_date}


def render(
    request: Request,
    template: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A console page: the template with the common context and headers."""
    session = session_of(request)
    html = TEMPLATES.get_template(template).render(request=request, session=session, **context)
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    # A form rendered before sign-in carries a new flow CSRF token: keep it for the POST.
    new_flow_token = request.scope.get("vorgang.console_flow_csrf")
    if session is None and new_flow_token:
        flow = flow_of(request)
        if flow.get("csrf") != new_flow_token:
            save_flow(response, request, {**flow, "csrf": new_flow_token})
    return response
