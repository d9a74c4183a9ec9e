"""A process whose views another process keeps reads their positions and never applies.

Applying the log in a request while the projection process applies it too made each fail
the other's tracking update (errors in requests, back-offs in the projection process).
"""

from __future__ import annotations

from infrastructure.wiring import Vorgang
from tests.steps import submitted


def test_without_runners_a_read_catches_the_view_up_itself(vorgang: Vorgang) -> None:
    submitted(vorgang.cases)
    head = vorgang.projections.head()
    assert vorgang.projections._look("inbox") == head  # CLI and tests: applied inline


def test_views_kept_by_another_process_are_only_read(vorgang: Vorgang) -> None:
    vorgang.projections.leave_to_another_process()
    submitted(vorgang.cases)
    assert vorgang.projections._look("inbox") == 0  # nothing applied in this process
    assert vorgang.projections.runners["inbox"].position() == 0
    # The process that keeps them (here: the same views caught up explicitly) moves them.
    vorgang.projections.runners["inbox"].catch_up()
    assert vorgang.projections._look("inbox") == vorgang.projections.head()
