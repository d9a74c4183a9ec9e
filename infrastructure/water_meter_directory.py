"""A town's water meters from the water meters read model, for the estimates and sub-meters.

The estimator asks which meters were in place on a campaign's deadline; the read model
answers by index (``projections/water_query.py``) instead of reading every meter's
installation from the log (``MetersInTheLog``, where no view is wired). A meter installed
just before the question may not be in the view yet: the directory waits (bounded) for the
view to reach the log's head first, and a run of the estimates that still missed one is run
again (it estimates only what is missing).
"""

from __future__ import annotations

from datetime import date
from typing import Final
from uuid import UUID

from application.store import VorgangStore
from infrastructure.projection_host import ProjectionHost
from infrastructure.view_database import ViewDatabase
from projections.water_meters import WaterMeters
from projections.water_query import active_meters, meters_of

CATCH_UP_SECONDS: Final = 10.0
PROPERTY_METERS: Final = 500  # a property has a main meter and a few garden sub-meters


class MetersInTheView:
    """The town's meters from the water meters view, caught up with the log first."""

    def __init__(
        self, store: VorgangStore, views: ViewDatabase, projections: ProjectionHost
    ) -> None:
        self.store = store
        self.views = views
        self.projections = projections

    def _caught_up(self) -> None:
        head = self.store.recorder.max_notification_id() or 0
        self.projections.wait_for(WaterMeters.name, head, CATCH_UP_SECONDS)

    def active_meters(self, tenant: str, on: date) -> list[UUID]:
        """The town's meters installed on or before ``on`` and not removed before it."""
        self._caught_up()
        return [row["meter_id"] for row in active_meters(self.views, tenant, on)]

    def meters_at(self, tenant: str, property_id: str) -> list[UUID]:
        """The town's meters of a property."""
        self._caught_up()
        rows = meters_of(self.views, tenant, property_id, limit=PROPERTY_METERS)
        return [row["meter_id"] for row in rows]
