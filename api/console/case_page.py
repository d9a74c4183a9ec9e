"""The case page of the console: the case, its timeline, its decisions and the commands open now.

``GET /console/cases/{case_id}`` shows a case of the signed-in person's town (another town's
is 404, as in the API): the application's data ("[gelöscht]" where erased), where the case
stands, the timeline of every event and the decision records with their replay verdicts —
both from the case file (``application/case_file.py``), never put together a second time —
and exactly the commands this person may give now, each as a form generated from its step's
declaration (``api/console/forms.py``). A command is offered when the case's
``allowed_commands`` name it, the step's declared roles include one of the person's, and the
person's teams handle the case's service.

``POST /console/cases/{case_id}/commands/{step}`` runs the step through the application's one
command pipeline, with the version the page showed as its expected version (If-Match). What
goes wrong comes back on the form: the body's fields at their inputs, a problem (409 not
allowed now or held by someone else, 412 changed meanwhile) as the form's message. With htmx
the form alone is swapped (status 200, so htmx swaps it; the problem's status is on the form);
without script the whole page comes back with the problem's status. Success swaps in the case
anew (or, without script, redirects to it).

Live: the page listens to the console's event stream (``/console/events``, the town's inbox
moved); each signal fetches ``/console/cases/{case_id}/live?seen=<version>``, which answers
204 while the case is unchanged and otherwise its new state, timeline and decisions (and the
commands, where the commands open changed).

Every read of a case's data is recorded in the access log (``what="console-case"``,
``application.access_log.CONSOLE_CASE``) before it is shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, Final, get_args
from uuid import UUID

import anyio
import structlog
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from api.console.csrf import read_form
from api.console.forms import (
    ADD_ROW,
    ROW_FIELD,
    FormErrors,
    FormField,
    field_for,
    form_fields,
    parse_form,
    row_counts,
    steps_for,
)
from api.console.holder_names import holder_name, names_in_the_trail
from api.console.labels import STEPS
from api.console.pages import readable_tenant, require, service_label, status_label
from api.console.problem_texts import (
    GENERIC_FIELD,
    PROBLEM_MESSAGES,
    field_message,
    form_message,
    slug_of,
)
from api.console.session import ConsoleActor
from api.console.templating import render
from api.dependencies import FacadeDep
from api.ports import ReadSide
from api.problems import kind_of, problem_kinds
from api.routes.read_models import opener
from application.access_log import CONSOLE_CASE
from application.case_file import DecisionOnFile, TimelineEntry
from application.commands import StaffNotKnownYet
from application.facade import Facade
from application.views import CaseState
from domain.actor import Actor, Role
from domain.commands import Step
from domain.services.catalogue import SERVICES
from domain.teams import NotYourTeam, check_serves

log = structlog.get_logger(__name__)
router = APIRouter()

ROUTE: Final = "/console/cases/{case_id}"
CASE_READERS: Final = frozenset({Role.CLERK, Role.SUPERVISOR, Role.AUDITOR})
STAFF: Final = frozenset({Role.CLERK, Role.SUPERVISOR})
VERSION_FIELD: Final = "_version"
UNHELD: Final = "unheld"  # the Posteingang's claim: the list showed the case held by nobody
CaseId = Annotated[UUID, Path(description="The case's id.")]

ROLE_LABELS: Final = {
    "applicant": "Antragsteller/in",
    "clerk": "Sachbearbeitung",
    "supervisor": "Leitung",
    "auditor": "Prüfung",
    "admin": "Administration",
    "cash_office": "Stadtkasse",
    "system": "System",
    "integrator": "Schnittstelle",
    "data_protection_officer": "Datenschutz",
}
VERDICTS: Final = {
    "consistent": "Nachvollzogen: die aufgezeichneten Regeln ergeben diese Entscheidung.",
    "inconsistent": "Abweichung: die aufgezeichneten Regeln ergeben etwas anderes.",
    "not_replayable": "Nicht nachprüfbar.",
}
OUTCOMES: Final = {
    "approved": "Genehmigt",
    "approved_with_conditions": "Genehmigt mit Nebenbestimmungen",
    "rejected": "Abgelehnt",
}
DATA_LABELS: Final = {  # application fields without a German label of their own
    "subject": "Betreff",
    "description": "Beschreibung",
}
APPLICANT_LABELS: Final = {
    "name": "Name",
    "address": "Anschrift",
    "email": "E-Mail",
    "phone": "Telefon",
    "date_of_birth": "Geburtsdatum",
    "company": "Firma",
}


# ---------------------------------------------------------------- which commands are open


def offered_steps(state: CaseState, actor: Actor) -> list[Step]:
    """The steps this person may take on the case now, in the declarations' order.

    The case's ``allowed_commands``, intersected with the steps whose declared roles include
    one of the person's staff roles, and only where the person's teams handle the service.
    """
    allowed = set(state.allowed_commands)
    found: list[Step] = []
    names: set[str] = set()
    for step in steps_for(state.service):
        if step.name in names or step.command_name not in allowed:
            continue
        if actor.roles.isdisjoint(STAFF & set(step.roles)):
            continue
        acting = actor.acting_in(STAFF & set(step.roles))
        if not holder_permits(step, state.holder_id, acting):
            continue
        try:
            check_serves(acting, state.tenant, state.service)
        except NotYourTeam:
            return []
        found.append(step)
        names.add(step.name)
    return found


def holder_permits(step: Step, holder_id: str | None, actor: Actor) -> bool:
    """Whether who holds the case lets this person take the step (the lifecycle's rules).

    A claim only of a case nobody holds; a release by its holder (or a supervisor); a step
    declared ``holder_only`` (the decision, a service's decision by its rules: the domain
    method checks the holder) by the holder alone.
    """
    if step.command_name == "claim":
        return holder_id is None
    if step.command_name == "release":
        return holder_id is not None and (holder_id == actor.id or actor.role is Role.SUPERVISOR)
    if step.holder_only:
        return holder_id == actor.id
    return True


def step_title(step: Step) -> str:
    """The step's German name."""
    return STEPS.get(step.name, step.summary)


# ---------------------------------------------------------------- what the page shows


@dataclass
class Offer:
    """One command as a form: its inputs, what was typed, what is wrong."""

    step: Step
    fields: tuple[FormField, ...]
    values: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, Sequence[str]] = field(default_factory=dict)
    message: str | None = None
    status: int = 200
    open: bool = False
    added: str | None = None  # the list of models a row was just added to

    @property
    def title(self) -> str:
        """The step's German name."""
        return step_title(self.step)

    @property
    def form_id(self) -> str:
        """The form's HTML id."""
        return f"step-{self.step.name}"

    @property
    def first_error(self) -> str | None:
        """The input the cursor goes to: the first with an error (in the form's order)."""
        for name in _input_names(self.fields):
            if self.errors.get(name):
                return name
        return None

    @property
    def focus(self) -> str | None:
        """The input the cursor goes to: the first in error, else the first of a new row."""
        first = self.first_error
        if first is not None or self.added is None:
            return first
        for f in self.fields:
            if f.name == self.added and f.rows:
                names = [n for n in _input_names(f.rows[-1]) if not n.endswith(".#")]
                return names[0] if names else None
        return None

    def row_count(self, f: FormField) -> int:
        """How many rows a list of models shows."""
        return len(f.rows)


def _input_names(fields: Sequence[FormField]) -> list[str]:
    names: list[str] = []
    for f in fields:
        names.append(f.name)
        if f.widget == "group":
            names.extend(_input_names(f.children))
        for row in f.rows:
            names.extend(_input_names(row))
    return names


@dataclass(frozen=True)
class CasePage:
    """Everything the case page shows."""

    state: CaseState
    timeline: list[TimelineEntry]
    decisions: list[DecisionOnFile]
    offers: list[Offer]
    holder: str | None = None  # who handles the case, by name (never their account id)

    @property
    def offered_names(self) -> str:
        """The open commands' names, as the live refresh compares them."""
        return ".".join(o.step.name for o in self.offers)


def record_case_read(vorgang: Facade, actor: Actor, case_id: UUID) -> None:
    """The access log's line for this read of the case (decision 36), before it is shown."""
    vorgang.access_log.record_read(actor, route=ROUTE, what=CONSOLE_CASE, case_id=case_id)


Names = Callable[[str, str], str | None]  # (tenant, person's id) → their name, if recorded


def names_of(request: Request) -> Names:
    """The audit trail's names, for a holder the case's timeline does not name (assigned)."""
    read_side: ReadSide = request.app.state.provider.get().projections

    def name(tenant: str, person: str) -> str | None:
        return names_in_the_trail(read_side.views, opener(read_side), tenant, [person]).get(person)

    return name


def read_case(
    vorgang: Facade,
    case_id: UUID,
    actor: Actor,
    replaced: Offer | None = None,
    names: Names | None = None,
) -> CasePage:
    """The case as this person may read it (blocking), its read recorded first."""
    state = vorgang.cases.view(case_id, actor=actor)  # another town's: CaseNotFound (404)
    record_case_read(vorgang, actor, case_id)
    files = vorgang.case_files  # the timeline and decisions of the Akte, not a second copy
    timeline = files.timeline(case_id, actor=actor)
    decisions = files.decision_records(case_id, actor=actor)
    offers = []
    for step in offered_steps(state, actor):
        if replaced is not None and replaced.step.name == step.name:
            offers.append(replaced)
        else:
            offers.append(Offer(step, form_fields(step.body)))
    holder = holder_name(
        state.holder_id,
        actor,
        timeline,
        (lambda person: names(state.tenant, person)) if names else lambda _person: None,
    )
    return CasePage(state, timeline, decisions, offers, holder)


def context_of(page: CasePage, **more: Any) -> dict[str, Any]:
    """The templates' context for a case page."""
    return {
        "page": page,
        "case": page.state,
        "status_label": status_label,
        "service_label": service_label,
        "role_label": lambda role: ROLE_LABELS.get(role or "", role or ""),
        "verdict_label": lambda verdict: VERDICTS.get(verdict, verdict),
        "outcome_label": lambda outcome: OUTCOMES.get(outcome, outcome),
        "applicant_label": lambda key: APPLICANT_LABELS.get(key, readable_key(key)),
        "readable_key": readable_key,
        "data_label": lambda key: data_labels(page.state.service).get(key) or readable_key(key),
        "version_field": VERSION_FIELD,
        "row_field": ROW_FIELD,
        "add_row": ADD_ROW,
        "is_mapping": lambda value: isinstance(value, Mapping),
        "is_list": lambda value: isinstance(value, list | tuple),
        "notice": None,
        **more,
    }


def readable_key(key: str) -> str:
    """A data key as a label where the application's form gives no German one."""
    return DATA_LABELS.get(str(key)) or str(key).replace("_", " ").capitalize()


@cache
def data_labels(service: str) -> dict[str, str]:
    """The German labels of a service's application fields (``x-label-de``), nested too."""
    definition = SERVICES.get(service)
    found: dict[str, str] = {}
    if definition is not None:
        _labels_of(definition.application_model, found, set())
    return found


def _labels_of(model: type[BaseModel], found: dict[str, str], seen: set[type]) -> None:
    if model in seen:
        return
    seen.add(model)
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        label = extra.get("x-label-de")
        if isinstance(label, str):
            found.setdefault(name, label)
        for inner in _types_in(info.annotation):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                _labels_of(inner, found, seen)


def _types_in(annotation: Any) -> list[Any]:
    return [annotation, *(t for arg in get_args(annotation) for t in _types_in(arg))]


# ---------------------------------------------------------------- routes


@router.get("/cases/{case_id}", response_class=HTMLResponse, name="console_case")
async def case_page(
    request: Request, case_id: CaseId, actor: ConsoleActor, vorgang: FacadeDep
) -> HTMLResponse:
    """The case: data, timeline, decisions and the commands open to this person now."""
    actor = require(actor, CASE_READERS)
    page = await anyio.to_thread.run_sync(
        read_case, vorgang, case_id, actor, None, names_of(request)
    )
    return render(
        request,
        "console/case.html",
        live_tenant=readable_tenant(actor),
        **context_of(page, notice=_done_notice(request)),
    )


def _done_notice(request: Request) -> str | None:
    done = request.query_params.get("done")
    return f"Erledigt: {STEPS[done]}." if done in STEPS else None


@router.get("/cases/{case_id}/live", response_class=HTMLResponse)
async def case_live(
    request: Request,
    case_id: CaseId,
    actor: ConsoleActor,
    vorgang: FacadeDep,
    seen: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    offered: Annotated[str, Query(max_length=4000)] = "",
) -> Response:
    """The case's changing parts when it moved past ``seen`` (204 while it did not)."""
    actor = require(actor, CASE_READERS)

    names = names_of(request)

    def read() -> CasePage | None:
        state = vorgang.cases.view(case_id, actor=actor)
        if state.version == seen:
            return None
        return read_case(vorgang, case_id, actor, None, names)

    page = await anyio.to_thread.run_sync(read)
    if page is None:
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    return render(
        request,
        "console/case_live.html",
        commands_changed=page.offered_names != offered,
        **context_of(page),
    )


@router.post("/cases/{case_id}/commands/{name}", response_class=HTMLResponse)
async def take_step(
    request: Request,
    case_id: CaseId,
    name: Annotated[str, Path(max_length=80, pattern="^[a-z_]+$")],
    actor: ConsoleActor,
    vorgang: FacadeDep,
) -> Response:
    """Run one command from its form; what goes wrong is shown on the form."""
    actor = require(actor, CASE_READERS)
    form = await read_form(request)
    htmx = request.headers.get("HX-Request") == "true"
    state = await anyio.to_thread.run_sync(lambda: vorgang.cases.view(case_id, actor=actor))
    step = next((s for s in steps_for(state.service) if s.name == name), None)
    if step is None or actor.roles.isdisjoint(STAFF & set(step.roles)):
        offer = Offer(
            step or Step(name=name, path="", summary=name, roles=()),
            (),
            message=PROBLEM_MESSAGES["forbidden"],
            status=403,
            open=True,
        )
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    values = {key: str(value) for key, value in form.multi_items() if not key.startswith("csrf")}
    fields = form_fields(step.body, rows=row_counts(form))
    offer = Offer(step, fields, values=values, open=True)
    if form.get(ADD_ROW):  # one more row of a list of models: no command yet
        offer.added = str(form.get(ADD_ROW))
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    try:
        body = parse_form(step.body, form) if step.body is not None else None
    except FormErrors as error:
        offer.errors = error.errors
        offer.message = PROBLEM_MESSAGES["validation"]
        offer.status = 422
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    expected = _expected_version(form.get(VERSION_FIELD))
    if expected is None and step.name == "claim" and form.get(VERSION_FIELD) == UNHELD:
        # the Posteingang's claim: what the clerk saw is "nobody holds it" (the list knows no
        # version); the claim runs at the version read now only while that still holds
        expected = state.version if state.holder_id is None else None
        if expected is None:
            offer.message = PROBLEM_MESSAGES["case-held"]
            offer.status = 409
            return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    if expected is None:  # never run a command without the concurrency check
        offer.message = PROBLEM_MESSAGES["missing-version"]
        offer.status = 428
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    acting = actor.acting_in(STAFF & set(step.roles))
    try:
        await anyio.to_thread.run_sync(
            lambda: vorgang.commands.handle(case_id, step(body), acting, expected)
        )
    except StaffNotKnownYet:
        offer.message = PROBLEM_MESSAGES["database-unavailable"]
        offer.status = 503
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    except Exception as error:  # only the API's known problems are shown on the form
        problem = _problem_of(request, error)
        if problem is None:
            raise
        _show_problem(offer, problem)
        return await _answer_with_form(request, vorgang, case_id, actor, offer, htmx)
    log.info("console command done", case_id=str(case_id), step=step.name)
    if not htmx:
        return RedirectResponse(f"/console/cases/{case_id}?done={step.name}", status_code=303)
    page = await anyio.to_thread.run_sync(
        read_case, vorgang, case_id, actor, None, names_of(request)
    )
    return render(
        request,
        "console/case_main.html",
        headers={"HX-Retarget": "#case", "HX-Reswap": "outerHTML"},
        **context_of(page, notice=f"Erledigt: {step_title(step)}."),
    )


def _expected_version(text: object) -> int | None:
    """The version the form was made at; None when missing or not a whole number >= 1."""
    if not isinstance(text, str) or not text.isascii() or not text.isdecimal() or len(text) > 10:
        return None
    version = int(text)
    return version if 1 <= version <= 2**31 - 1 else None


def _problem_of(request: Request, error: Exception) -> dict[str, Any] | None:
    """The API's problem+json for this error (None: not an error the API knows)."""
    provider = request.app.state.provider
    kinds = problem_kinds(request.app.state.settings.retry_after_seconds, provider.watch)
    if not any(cls in kinds for cls in type(error).__mro__):
        return None
    answer = kind_of(error, kinds).respond(error, request)
    body: dict[str, Any] = json.loads(bytes(answer.body))
    return body


def _show_problem(offer: Offer, problem: Mapping[str, Any]) -> None:
    """A problem on the form, in German: its fields at their inputs, the rest as the form's
    message (never the API's English ``detail`` or messages)."""
    status = int(problem.get("status", 500))
    errors: dict[str, list[str]] = {}
    loose = False
    for item in problem.get("errors") or ():
        target = field_for(str(item.get("field", "")), offer.fields)
        message = field_message(str(item.get("message", "")))
        if target:
            errors.setdefault(target, []).append(message)
        else:
            loose = True
    current = problem.get("current_status")
    offer.errors = errors
    offer.message = form_message(problem, status_label(current) if current else None)
    if loose and not errors and slug_of(problem) == "validation":
        offer.message = f"{offer.message} {GENERIC_FIELD}"
    offer.status = status


async def _answer_with_form(
    request: Request,
    vorgang: Facade,
    case_id: UUID,
    actor: Actor,
    offer: Offer,
    htmx: bool,
) -> Response:
    """The form again (htmx) or the whole page with it (no script), at the case's version."""
    if htmx:
        state = await anyio.to_thread.run_sync(lambda: vorgang.cases.view(case_id, actor=actor))
        return render(
            request,
            "console/case_form.html",
            offer=offer,
            case=state,
            version_field=VERSION_FIELD,
            row_field=ROW_FIELD,
            add_row=ADD_ROW,
        )
    page = await anyio.to_thread.run_sync(
        read_case, vorgang, case_id, actor, offer, names_of(request)
    )
    if all(o.step.name != offer.step.name for o in page.offers):
        page.offers.insert(0, offer)  # no longer open: shown with why
    return render(
        request,
        "console/case.html",
        status_code=offer.status,
        live_tenant=readable_tenant(actor),
        **context_of(page),
    )
