"""Rules of the headstone permit (Grabmalgenehmigung): standard conditions and the term to set.

Sources, and what here is example data:

- **Standard conditions** follow the towns' cemetery statutes (Friedhofsordnungen, the
  Grabmal section) and the technical rules for headstones (TA Grabmal of the Deutsche
  Naturstein-Akademie, DENAK): foundation and dowelling per TA Grabmal, set by a qualified
  stonemason, acceptance and yearly stability checks. EXAMPLE WORDING; each town's statute
  replaces it as a new version.
- **The term to set the headstone**: a permit lapses if the headstone is not set within it.
  EXAMPLE VALUE: one year.
- **The fee** is the cemetery tariff's headstone permit fee (``domain.rules.cemetery``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.conditions import StandardConditions
from domain.decision import RulesApplied

CONDITIONS_RULES_ID: Final = "headstone-permit-conditions"
SETTING_TERM_RULES_ID: Final = "headstone-permit-setting-term"

STANDARD_CONDITIONS: Final = (
    StandardConditions(
        rules_id=CONDITIONS_RULES_ID,
        version="2025-01",
        valid_from=date(2025, 1, 1),
        texts=(
            "Das Grabmal ist nach der genehmigten Zeichnung (Maßstab 1:10) und der TA Grabmal "
            "zu fundamentieren, zu verdübeln und standsicher aufzustellen.",
            "Das Grabmal darf nur von einem fachkundigen Steinmetzbetrieb aufgestellt werden; "
            "die Aufstellung ist der Friedhofsverwaltung anzuzeigen.",
            "Die Standsicherheit wird bei der Abnahme und danach jährlich geprüft; Mängel sind "
            "innerhalb der gesetzten Frist auf Kosten der nutzungsberechtigten Person zu "
            "beseitigen.",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class SettingTerm:
    """How long after the permit the headstone may be set before the permit lapses."""

    version: str
    valid_from: date
    months: int

    def record(self) -> RulesApplied:
        """The term as a decision records it."""
        return RulesApplied(SETTING_TERM_RULES_ID, self.version, {"months": self.months})


SETTING_TERMS: Final = (SettingTerm("2025-01", date(2025, 1, 1), 12),)
