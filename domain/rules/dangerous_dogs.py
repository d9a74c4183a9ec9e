"""Rules for dangerous dogs: the Hessian Gefahrenabwehrverordnung über das Halten und
Führen von Hunden (HundeVO).

A dog is dangerous if it is of a listed breed (or a crossing with one), or if the
public-order authority found it dangerous in the individual case (it bit, attacked or
showed aggression). Keeping one needs a permit of the public-order authority (the town's
Gemeindevorstand as örtliche Ordnungsbehörde): the keeper is of age, reliable (certificate
of good conduct), has the expertise (Sachkundenachweis), the dog passed a temperament test
(Wesensprüfung), a liability insurance covers it and it carries a microchip.

EXAMPLE CONFIGURATION to confirm against the regulation as amended: the list of breeds and
the minimum age are versioned like every rule, so a changed list applies from its day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from domain.decision import RulesApplied
from domain.rules.versions import in_force

DANGEROUS_DOGS_RULES_ID: Final = "dangerous-dogs"


@dataclass(frozen=True, slots=True)
class DangerousDogRules:
    """One version of the regulation: the listed breeds and what a permit requires."""

    version: str
    valid_from: date
    listed_breeds: tuple[str, ...]
    minimum_keeper_age: int
    legal_basis: str

    def lists(self, breed: str) -> bool:
        """True for a listed breed or a crossing naming one ("Rottweiler-Mischling")."""
        named = _words(breed)
        return any(_words(listed) <= named for listed in self.listed_breeds)

    def record(self, breed_listed: bool) -> RulesApplied:
        """The version applied and what it found, for the decision record."""
        return RulesApplied(
            rules_id=DANGEROUS_DOGS_RULES_ID,
            version=self.version,
            inputs={"breed_listed": breed_listed, "minimum_keeper_age": self.minimum_keeper_age},
        )


def _words(text: str) -> frozenset[str]:
    """The words of a breed's name, case and punctuation aside."""
    cleaned = "".join(c if c.isalnum() else " " for c in text.casefold())
    return frozenset(cleaned.split())


VERSIONS: Final = (
    DangerousDogRules(
        version="hessen-hundevo-2003",
        valid_from=date(2003, 1, 22),
        listed_breeds=(
            "Pitbull Terrier",
            "Pit Bull Terrier",
            "American Pitbull Terrier",
            "American Staffordshire Terrier",
            "Staffordshire Bullterrier",
            "Bullterrier",
            "Bull Terrier",
            "American Bulldog",
            "Dogo Argentino",
            "Kangal",
            "Kaukasischer Owtscharka",
            "Rottweiler",
        ),
        minimum_keeper_age=18,
        legal_basis="§§ 1 bis 3 Gefahrenabwehrverordnung über das Halten und Führen von "
        "Hunden (HundeVO) des Landes Hessen",
    ),
)


def rules_on(day: date) -> DangerousDogRules:
    """The version in force on a day."""
    return in_force(VERSIONS, day)


def breed_listed(breed: str, on: date) -> bool:
    """True if the regulation in force on ``on`` lists the breed (or a crossing with it)."""
    return rules_on(on).lists(breed)
