"""What the payment routes share (#24): the payment use cases as a dependency, who reads,
request-body and query types, and how a route hides what the caller may not see.

The routes live in three modules, each with its own router under the ``payments`` tag,
registered in this order (the OpenAPI document lists them so):
``business_customers`` (accounts, members, the account's receivables and requests),
``receivables`` (a receivable, the town's open list, the cash office's receipts) and
``payment_requests`` (paying online, the provider's callback, refunds, reconciliation runs).

Who may do what, declared on each route (``allow``) and reviewed in the access matrix:

- The town's staff (clerk, supervisor, admin) register a **business customer** with its first
  member, an applicant account, as owner; owners manage the members. Members see their
  account, its receivables and payment requests; another applicant gets 404, never 403, so
  an account's existence does not leak.
- A member who may pay (owner, payer) opens a **payment request** for receivables of the
  account: the provider's checkout URL comes back, the payer pays there (Vorgang never sees
  card or account data).
- The provider's **callback** carries no bearer token: its signature is the authentication
  (401 when it does not verify or is stale, logged without its body); a duplicate is
  acknowledged (204) and applied once. ``status-poll`` asks the provider when none came.
- The **cash office**, and only it, records counter and bank-transfer receipts — never the
  person who decided or countersigned the charge (the use case refuses: 422 naming
  ``actor``). Staff ask for **refunds**; the cash office or a supervisor who did not ask
  approves (four eyes).

Another town's staff meet 404 on every account, receivable and request of this town.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.dependencies import FacadeDep
from api.problems import BadHeader, NotFound
from application.errors import CaseNotFound, VersionMismatch
from application.payments import PaymentService
from domain.actor import Role
from projections.cursors import InvalidCursor, decode_cursor

OWN_STAFF = (Role.CLERK, Role.SUPERVISOR, Role.CASH_OFFICE, Role.AUDITOR, Role.ADMIN)
READERS = (Role.APPLICANT, *OWN_STAFF)

Money = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,10}(\.[0-9]{1,2})?$"),
    Field(description="Euros with at most two decimal places, as a string.", examples=["73.40"]),
]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows per page.")]
After = Annotated[
    str | None,
    Query(max_length=500, description="The cursor of the last row of the page before."),
]
MinPosition = Annotated[
    int | None,
    Query(ge=0, description="Wait until the read model has seen this log position."),
]


def payment_service(vorgang: FacadeDep) -> PaymentService:
    """The payment use cases of the process."""
    return vorgang.payments


PaymentsDep = Annotated[PaymentService, Depends(payment_service)]


@contextmanager
def visible(kind: str, key: object) -> Iterator[None]:
    """What the caller may not see does not exist for them: 404 naming what they asked for."""
    try:
        yield
    except CaseNotFound:
        raise NotFound(f"no {kind} {key}") from None


def checked_after(after: str | None, *shape: type[int] | type[str]) -> None:
    """A tampered ``after`` is a 422 naming ``after`` (the parameter these lists page with),
    before any wait or query; empty is the first page."""
    if not after:
        return
    try:
        decode_cursor(after, *shape)
    except InvalidCursor as error:
        raise BadHeader("after", str(error), where="query") from None


def checked_version(expected: int | None, aggregate_id: UUID, actual: int) -> None:
    """If-Match names the version the caller read (412 otherwise)."""
    if expected is not None and expected != actual:
        raise VersionMismatch(aggregate_id, expected, actual)


def tagged(response: Response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


class Strict(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def rows_as(rows: list[dict[str, Any]], model: type[BaseModel]) -> list[Any]:
    return [model.model_validate(row) for row in rows]
