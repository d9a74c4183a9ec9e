"""Who handles a case, by name: the console never shows a person's account id.

The inbox view and the case state name the holder by account id only (an OIDC subject, often a
UUID). Names are personal data (``PersonalData`` in each event's ``ActorRecord``) and are kept
sealed where events are: the console opens them through the paths that already show them —
the case's timeline (``application/case_file.py``) on the case page, the audit trail's sealed
``actor_name`` for a page of the Posteingang (one statement for the page's holders, each an
index seek for that person's latest event in the town). An erased name reads "[gelöscht]";
a holder whose name no event of the town records yet reads as unknown, never by their id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

from application.case_file import TimelineEntry
from domain.actor import Actor
from domain.personal_data import ERASED_TEXT
from projections.audit_trail import AuditTrail
from projections.view_store import ViewDatabase

UNKNOWN_NAME: Final = "Name nicht bekannt"
AUDIT_TABLE: Final = AuditTrail().table


def names_in_the_trail(
    views: ViewDatabase, open_sealed: Callable[[str | None], Any], tenant: str, ids: Iterable[str]
) -> dict[str, str]:
    """The names the town's audit trail last recorded for these people (one statement)."""
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    part = (
        "SELECT * FROM (SELECT actor_id, actor_name FROM {table} WHERE actor_id = ? "
        "AND tenant = ? ORDER BY position DESC LIMIT 1) AS p{n}"
    )
    sql = " UNION ALL ".join(part.format(table=AUDIT_TABLE, n=n) for n in range(len(wanted)))
    rows = views.query(sql, [value for i in wanted for value in (i, tenant)])
    found: dict[str, str] = {}
    for actor_id, sealed in rows:
        opened = open_sealed(sealed) if sealed else None
        found[str(actor_id)] = opened if isinstance(opened, str) and opened else ERASED_TEXT
    return found


def name_on_the_timeline(holder_id: str, timeline: Sequence[TimelineEntry]) -> str | None:
    """The holder's name as the case's latest event by them records it, if any."""
    for entry in reversed(timeline):
        if entry.actor is not None and entry.actor.id == holder_id:
            return entry.actor.name
    return None


def holder_name(
    holder_id: str | None,
    reader: Actor,
    timeline: Sequence[TimelineEntry] = (),
    trail: Callable[[str], str | None] = lambda _holder: None,
) -> str | None:
    """The case's holder by name (None: nobody holds it)."""
    if not holder_id:
        return None
    return (
        name_on_the_timeline(holder_id, timeline)
        or (reader.display_name if reader.id == holder_id else None)
        or trail(holder_id)
        or UNKNOWN_NAME
    )
