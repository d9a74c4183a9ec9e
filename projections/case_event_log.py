"""A view that appends a row per case event and keeps, per case, the state its rows draw from.

The audit trail and the integration feed are both such logs: an event's row needs what
earlier events of its case left (reference, tenant, status), so each batch loads the state
of the cases it touches, appends the rows and stores the state again, set-based.

While a rebuild fills a copy, the state of the cases touched last stays in memory between
batches (at most ``HELD_CASES``; the least recently touched are written back when more
arrive, the rest when the fill ends), so a case's state is not written and read again
with every batch its events fall into.
"""

from __future__ import annotations

from abc import abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, ClassVar

from projections.bulk import insert_rows, load_rows, upsert_rows
from projections.case_events import case_event_topics
from projections.projection import Applied, Projection
from projections.sealed import SealingTranscoder
from projections.view_store import ViewTransaction

HELD_CASES = 2000  # during a fill: the cases whose state stays in memory between batches


class CaseEventLog(Projection):
    """Rows of case events in log order, and a table of per-case state they draw from."""

    row_columns: ClassVar[tuple[str, ...]]
    case_columns: ClassVar[tuple[str, ...]]

    _held: OrderedDict[str, dict[str, Any]] | None = None  # during a fill: state not written

    def __init__(self) -> None:
        self._json = SealingTranscoder()

    @property
    def cases_table(self) -> str:
        """Per case: what the rows of its events carry (reference, tenant, status, ...)."""
        return f"{self.key}_cases"

    def tables(self) -> list[str]:
        """The view's tables."""
        return [self.table, self.cases_table]

    def topics(self) -> list[str]:
        """Every case event: those without a row of their own still change the case's state."""
        return case_event_topics()

    def apply(self, tx: ViewTransaction, batch: Sequence[Applied]) -> None:
        """Append one row per kept event; store the state of the cases the batch touched."""
        ids = sorted({self._case_of(a.event) for a in batch})
        held = self._held
        cases = {} if held is None else {i: held.pop(i) for i in ids if i in held}
        missing = [i for i in ids if i not in cases]
        cases |= {
            case_id: self._case_loaded(row)
            for case_id, row in load_rows(tx, self.cases_table, self.case_columns, missing).items()
        }
        rows = [row for applied in batch if (row := self._row(cases, applied)) is not None]
        insert_rows(tx, self.table, self.row_columns, rows)
        if held is not None:
            held.update(cases)  # the most recently touched last
            cases = {}
            while len(held) > HELD_CASES:
                case_id, case = held.popitem(last=False)
                cases[case_id] = case
        self._store(tx, cases)

    def _case_of(self, event: Any) -> str:
        """The id of the case an event belongs to: by default the aggregate that recorded it."""
        return str(event.originator_id)

    def fill_begins(self) -> None:
        """Keep the state of the cases touched last in memory between batches."""
        self._held = OrderedDict()

    def fill_ends(self, tx: ViewTransaction) -> None:
        """Write back the state kept in memory."""
        held, self._held = self._held, None
        if held:
            self._store(tx, held)

    def _store(self, tx: ViewTransaction, cases: dict[str, dict[str, Any]]) -> None:
        upsert_rows(
            tx,
            self.cases_table,
            self.case_columns,
            [self._case_stored(case_id, case) for case_id, case in cases.items()],
        )

    def _case_loaded(self, row: dict[str, Any]) -> dict[str, Any]:
        """A case's state as a row of the cases table holds it, ready to be changed."""
        return row

    def _case_stored(self, case_id: str, case: dict[str, Any]) -> dict[str, Any]:
        """A case's state as the cases table stores it."""
        return case

    @abstractmethod
    def _row(self, cases: dict[str, dict[str, Any]], applied: Applied) -> tuple[Any, ...] | None:
        """The event's row (None: the view keeps none), changing its case's state in ``cases``."""
