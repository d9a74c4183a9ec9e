"""Demo burial registrations: one in every state of a registration's life, in each town."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from application.clock import FixedClock
from application.commands import CommandHandler
from domain.cemeteries import cemeteries
from domain.services.burial import STEPS, BurialCarriedOut, ScheduleBurial, example
from domain.working_days import berlin_date
from infrastructure.demo_steps import (
    COUNTER,
    Office,
    Step,
    ask,
    close_when_final,
    notify,
    refused_and_closed,
    review,
    waiting,
    withdrawn,
)

LEGAL_BASIS = "Friedhofs- und Bestattungsgesetz Hessen; Friedhofsordnung"
DECEASED = (
    ("Walter Becker", "1941-03-14", "child"),
    ("Irmgard Schäfer", "1936-11-02", "spouse"),
    ("Heinz Krämer", "1950-06-21", "sibling"),
    ("Gertrud Wagner", "1929-01-30", "grandchild"),
)
TAKEN = 7  # the scenario whose grave an earlier registration of the town already took


def burial_data(index: int, tenant: str, submitted_on: date) -> dict[str, Any]:
    """A coffin burial in a new Reihengrab, the death a day before, the burial two days on."""
    data = example(submitted_on)
    name, born, relationship = DECEASED[index % len(DECEASED)]
    data["deceased"] = {**data["deceased"], "name": name, "born_on": born}
    data["chapel"] = index % 2 == 0
    if index == TAKEN:  # the first Reihengrab of the town, which scenario 3 was given
        first = cemeteries(tenant)[0].id
        data["grave"] = {"cemetery": first, "field": "B", "row": "1", "number": 1}
    if index == 9:  # nobody obliged came forward: the public-order office arranges it
        data["public_order_burial"] = True
        del data["person_obliged"]
        del data["filer"]
    else:
        data["person_obliged"] = {**data["person_obliged"], "relationship": relationship}
    return data


def _scheduled(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    review(h, case_id, town, clock)
    schedule = STEPS.named("schedule")(ScheduleBurial())
    h.handle(case_id, schedule, town.clerk, None)
    # The undertaker collects the Bescheid at the cemetery office: a burial does not wait for
    # the post (notified on handing over, § 41 (1) HVwVfG).
    notify(h, case_id, town, clock, COUNTER)


def _carried_out(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _scheduled(h, case_id, town, clock)
    clock.advance(timedelta(days=1))  # the burial day
    done = BurialCarriedOut(buried_on=berlin_date(clock.now()))
    h.handle(case_id, STEPS.named("record_burial_carried_out")(done), town.clerk, None)


def _closed(h: CommandHandler, case_id: UUID, town: Office, clock: FixedClock) -> None:
    _carried_out(h, case_id, town, clock)
    clock.advance(timedelta(days=2))
    close_when_final(h, case_id, town, clock, "Bestattung durchgeführt, Gebühren festgesetzt.")


BURIAL_SCENARIOS: tuple[Step, ...] = (
    waiting,
    review,
    ask("Bitte reichen Sie die Todesbescheinigung als Anlage nach."),
    _scheduled,
    _carried_out,
    _closed,
    refused_and_closed(
        "Die Beisetzung in der gewünschten Grabart ist nach der Friedhofsordnung nicht möglich.",
        legal_basis=LEGAL_BASIS,
    ),
    _scheduled,  # TAKEN: refused by the rules, naming the taken grave place
    withdrawn("Die Familie hat eine Bestattung in einer anderen Gemeinde veranlasst."),
    _carried_out,  # a public-order burial, with the cost claim in the decision
)
