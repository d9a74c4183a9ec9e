"""Demo grave right applications: acquired, extended, transferred, returned and refused.

The graves are the last Wahlgräber of each town's configuration (the burial demo and the
catalogue's example, any free Urnenwahlgrab, start from the first ones), so one town's demo
runs leave the example's graves free. Scenarios build on each other in order: the extension
and the refusal of a second grant name the grave acquired in scenario ``ACQUIRED``, the
transfer and the return the grave acquired and closed in scenario ``CLOSED``.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.case_steps import CLOSE
from domain.cemeteries import GraveSpec, GraveType, graves
from domain.services.grave_right import STEPS, GraveRightDecision
from infrastructure.demo_steps import (
    LETTER,
    Office,
    Step,
    ask,
    mark_final,
    notify,
    review,
    waiting,
    withdrawn,
)

ACQUIRED = 3
CLOSED = 4


def _last(tenant: str, grave_type: GraveType, back: int) -> GraveSpec:
    of_type = [g for g in graves(tenant) if g.grave_type is grave_type]
    return of_type[-1 - back]


def _grave(tenant: str, back: int, grave_type: GraveType = GraveType.WAHLGRAB) -> dict[str, Any]:
    address = _last(tenant, grave_type, back).address
    return {
        "cemetery": address.cemetery,
        "field": address.field,
        "row": address.row,
        "number": address.number,
    }


def grave_right_data(index: int, tenant: str) -> dict[str, Any]:
    """The application of demo scenario ``index`` in a town."""
    if index == 5:
        return {"request": "extend", "grave": _grave(tenant, ACQUIRED), "years": 5}
    if index == 6:
        successor = {
            "name": "Paula Weber",
            "address": "Lindenweg 4",
            "relationship": "child",
            "declaration_on": "2026-01-15",
        }
        return {"request": "transfer", "grave": _grave(tenant, CLOSED), "successor": successor}
    if index == 7:
        return {
            "request": "return",
            "grave": _grave(tenant, CLOSED),
            "reason": "Die Familie ist weggezogen; die Grabstätte wird nicht mehr gepflegt.",
        }
    if index == 8:  # refused: a Reihengrab has no grave right
        return {"request": "acquire", "grave": _grave(tenant, 0, GraveType.REIHENGRAB)}
    if index == 9:  # refused: the right of scenario ACQUIRED holds
        return {"request": "acquire", "grave": _grave(tenant, ACQUIRED)}
    return {"request": "acquire", "grave": _grave(tenant, index)}


def _decided(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    decision = STEPS.named("decide_grave_right")(GraveRightDecision())
    h.handle(case_id, decision, town.clerk, None)
    notify(h, case_id, town, clock, LETTER)


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _decided(h, case_id, town, clock)
    mark_final(h, case_id, town, clock)
    h.handle(case_id, CLOSE(), town.clerk, None)


GRAVE_RIGHT_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie eine Kopie Ihres Personalausweises nach."),
    _decided,  # ACQUIRED: granted, notified
    _closed,  # CLOSED: granted, final, closed
    _decided,  # extended by five years
    _decided,  # transferred to a daughter
    _decided,  # returned early (no burial in the grave)
    _closed,  # refused: a Reihengrab has no right
    _decided,  # refused: a right holds
    withdrawn("Die Familie hat sich für eine Urnenbeisetzung im Friedwald entschieden."),
)
