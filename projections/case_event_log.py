"""A view that appends a row per case event and keeps, per case, the state its rows draw from.

The audit trail and the integration feed are both such logs: an event's row needs what
earlier events of its case left (reference, tenant, status), so each batch loads the state
of the cases it touches, appends the rows and stores the state again, set-based.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from projections.bulk import insert_rows, load_rows, upsert_rows
from projections.case_events import case_event_topics
from projections.projection import Applied, Projection
from projections.sealed import SealingTranscoder
from projections.view_store import ViewTransaction


class CaseEventLog(Projection):
    """Rows of case events in log order, and a table of per-case state they draw from."""

    row_columns: ClassVar[tuple[str, ...]]
    case_columns: ClassVar[tuple[str, ...]]

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
        ids = sorted({str(a.event.originator_id) for a in batch})
        cases = {
            case_id: self._case_loaded(row)
            for case_id, row in load_rows(tx, self.cases_table, self.case_columns, ids).items()
        }
        rows = [row for applied in batch if (row := self._row(cases, applied)) is not None]
        insert_rows(tx, self.table, self.row_columns, rows)
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
