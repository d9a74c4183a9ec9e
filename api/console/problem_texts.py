"""The console's German words for the API's problems: never the API's English ``detail``.

The API answers problems in English (problem+json: a ``type``, a ``title``, a ``detail`` and,
for input, ``errors`` naming fields with the domain's own English words). The console shows
clerks German only: the problem's type is the form's or page's message; a field error the
domain gave in words it has German for reads in German, any other in a German sentence for
its kind (a field the step does not take as given). The English text is never shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# What a problem of each type means, on a form (by the last segment of its ``type``).
PROBLEM_MESSAGES: Final = {
    "invalid-transition": "Dieser Schritt ist im jetzigen Stand des Vorgangs nicht möglich.",
    "case-held": "Der Vorgang wird gerade von jemand anderem bearbeitet.",
    "not-the-holder": "Bitte übernehmen Sie den Vorgang zuerst.",
    "stale-version": (
        "Der Vorgang wurde inzwischen geändert. Bitte prüfen Sie den Verlauf und senden Sie "
        "das Formular dann erneut."
    ),
    "concurrent-update": (
        "Der Vorgang wurde gleichzeitig geändert. Bitte prüfen Sie den Verlauf und senden "
        "Sie das Formular erneut."
    ),
    "validation": "Bitte prüfen Sie die markierten Angaben.",
    "refused": "Der Schritt wurde abgelehnt: Der Vorgang lässt ihn so nicht zu.",
    "already-recorded": "Dieser Wert ist bereits vergeben.",
    "forbidden": "Dafür fehlt Ihnen die Berechtigung.",
    "not-found": "Der Vorgang wurde nicht gefunden.",
    "database-unavailable": "Der Dienst ist vorübergehend nicht erreichbar. Bitte gleich erneut.",
    "view-catching-up": "Die Anzeige wird gerade aktualisiert. Bitte gleich erneut.",
    "issuer-unavailable": "Der Identitätsanbieter antwortet nicht. Bitte gleich erneut.",
    "channel-unavailable": "Der Versandweg ist vorübergehend nicht erreichbar.",
    "document-erased": "Die personenbezogenen Daten dieses Dokuments sind gelöscht.",
    "missing-version": (
        "Das Formular nennt nicht, welchen Stand des Vorgangs Sie gesehen haben. Bitte laden "
        "Sie die Seite neu und senden Sie es erneut."
    ),
}
GENERIC_PROBLEM: Final = "Der Schritt konnte nicht ausgeführt werden."

# What an error page says about a problem of each type (the page's title names its status).
PAGE_DETAILS: Final = {
    "not-found": "Der Vorgang oder die Seite wurde nicht gefunden.",
    "forbidden": "Dafür fehlt Ihnen die Berechtigung.",
    "database-unavailable": "Der Dienst ist vorübergehend nicht erreichbar. Bitte gleich erneut.",
    "view-catching-up": "Die Anzeige wird gerade aktualisiert. Bitte gleich erneut.",
    "issuer-unavailable": "Der Identitätsanbieter antwortet nicht. Bitte gleich erneut.",
    "document-erased": "Die personenbezogenen Daten dieses Dokuments sind gelöscht.",
}

# The domain's most frequent field refusals, in German (its English words, exactly).
FIELD_MESSAGES: Final = {
    "the reply deadline must lie in the future": "Die Antwortfrist muss in der Zukunft liegen.",
    "must not lie in the future": "Das Datum darf nicht in der Zukunft liegen.",
    "must not be empty": "Bitte ausfüllen.",
    "must be a date": "Bitte ein Datum angeben.",
    "must not be negative": "Der Wert darf nicht negativ sein.",
    "must not lie before the submission": "Das Datum darf nicht vor dem Antragseingang liegen.",
    "must lie between the submission and today": (
        "Das Datum muss zwischen dem Antragseingang und heute liegen."
    ),
    "already recorded": "Das ist bereits erfasst.",
    "you already hold this case": "Sie bearbeiten diesen Vorgang bereits.",
}
GENERIC_FIELD: Final = "Diese Angabe nimmt der Vorgang so nicht an. Bitte prüfen Sie sie."


def slug_of(problem: Mapping[str, Any]) -> str:
    """The last segment of a problem's ``type`` (``.../problems/stale-version``)."""
    return str(problem.get("type", "")).rsplit("/", 1)[-1]


def form_message(problem: Mapping[str, Any], status_words: str | None = None) -> str:
    """The form's German message for a problem; ``status_words``: the case's stand, if named."""
    words = PROBLEM_MESSAGES.get(slug_of(problem), GENERIC_PROBLEM)
    if status_words:
        words = f"{words} Stand des Vorgangs: {status_words}."
    return words


def field_message(english: str) -> str:
    """A field refusal of the domain in German, or the German sentence for its kind."""
    return FIELD_MESSAGES.get(english.strip(), GENERIC_FIELD)


def page_detail(problem: Mapping[str, Any]) -> str | None:
    """What an error page says about a problem (None: its German title says it all)."""
    return PAGE_DETAILS.get(slug_of(problem))
