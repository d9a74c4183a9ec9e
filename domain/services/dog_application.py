"""The dog registration form: keeper, dog, day taken in, relief, tax paid elsewhere.

What the portal sends to register a dog (``POST /api/v1/cases`` with service
``dog-registration``), checked at submission; the personal fields (the keeper's address
and date of birth, the chip, the proof of a relief) are sealed as ``PersonalData``.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Final, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from domain.errors import InvalidCommand
from domain.personal_fields import Personal
from domain.rules.dog_tax import (
    Relief,
)
from domain.services.forms import (
    Form,
    HouseNumber,
    Name,
    PlausibleDate,
    birth_date_problem,
    labelled,
)
from domain.working_days import add_months

EARLIEST_TAKEN_IN_DAYS_AHEAD: Final = 31  # a dog may be registered a month ahead


# ------------------------------------------------------------------- the form


def _fifteen_digits(text: str) -> str:
    digits = "".join(c for c in text if c.isdigit())
    if len(digits) != 15:
        raise ValueError("a microchip number has 15 digits (ISO 11784)")
    return text


Chip = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[0-9][0-9 .-]{13,28}[0-9]$"),
    AfterValidator(_fifteen_digits),
]
Postcode = Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")]


class Keeper(Form):
    """The keeper's address and date of birth (the applicant is the keeper)."""

    born_on: Personal[PlausibleDate] = labelled(
        "Geburtsdatum", "Date of birth", description="A dangerous dog's keeper must be of age."
    )
    street: Personal[Name] = labelled("Straße", "Street")
    house_number: Personal[HouseNumber] = labelled("Hausnummer", "House number")
    postcode: Postcode = labelled("Postleitzahl", "Postcode")
    place: Name = labelled("Ort", "Place")


class Dog(Form):
    """The dog."""

    name: Name = labelled("Rufname", "Name")
    breed: Name = labelled(
        "Rasse", "Breed", description="e.g. 'Labrador Retriever', 'Mischling (Schäferhund)'"
    )
    colour: Name = labelled("Farbe", "Colour")
    born_on: PlausibleDate = labelled("Wurfdatum", "Date of birth")
    chip: Personal[Chip] = labelled(
        "Transpondernummer (Mikrochip)",
        "Microchip number",
        description="15 digits (ISO 11784), e.g. '276 098 106 123 456'",
    )


class ReliefApplied(Form):
    """A reduction or exemption applied for, with its proof and its dates."""

    reason: Relief = labelled(
        "Grund",
        "Reason",
        description="assistance_dog (exempt), shelter_dog (reduced for a time), "
        "low_income (reduced while proven)",
    )
    proof: Personal[Name] = labelled(
        "Nachweis", "Proof", description="The reference of the proof (a notice, a contract)."
    )
    from_day: PlausibleDate = labelled("Ab", "From")
    until: PlausibleDate | None = labelled("Bis", "Until", default=None)

    @model_validator(mode="after")
    def ends_after_it_starts(self) -> Self:
        """The relief must not end before it starts."""
        if self.until is not None and self.until < self.from_day:
            raise ValueError("until must not lie before from_day")
        return self


class TaxPaidElsewhere(Form):
    """Tax paid to another municipality for the same dog and months of a year."""

    municipality: Name = labelled("Gemeinde", "Municipality")
    year: int = labelled("Jahr", "Year", ge=2000, le=2199)
    months: list[Annotated[int, Field(ge=1, le=12)]] = labelled(
        "Monate", "Months", min_length=1, max_length=12
    )
    amount: Decimal = labelled("Betrag (EUR)", "Amount (EUR)", ge=0, max_digits=9, decimal_places=2)

    @model_validator(mode="after")
    def months_once(self) -> Self:
        """Each month is named once."""
        if len(set(self.months)) != len(self.months):
            raise ValueError("months must not repeat")
        return self


class DogRegistrationApplication(Form):
    """What the form portal sends to register a dog."""

    keeper: Keeper = labelled("Halterin/Halter", "Keeper")
    dog: Dog = labelled("Hund", "Dog")
    taken_in_on: PlausibleDate = labelled("Aufgenommen am", "Taken in on")
    dogs_in_household: int = labelled(
        "Hunde im Haushalt",
        "Dogs in the household",
        ge=1,
        le=20,
        description="Including this one.",
    )
    relief: ReliefApplied | None = labelled(
        "Beantragte Ermäßigung oder Befreiung", "Relief applied for", default=None
    )
    paid_elsewhere: TaxPaidElsewhere | None = labelled(
        "Anderswo gezahlte Hundesteuer", "Tax paid elsewhere", default=None
    )

    def check(self, submitted_on: date) -> None:
        """Dates that cannot be: in the future, a dog taken in before it was born."""
        keeper_born = self.keeper.born_on
        if isinstance(keeper_born, date):
            problem = birth_date_problem(keeper_born, submitted_on)
            if problem is not None:
                raise InvalidCommand("data.keeper.born_on", problem)
        problem = birth_date_problem(self.dog.born_on, submitted_on)
        if problem is not None:
            raise InvalidCommand("data.dog.born_on", problem)
        if self.taken_in_on < self.dog.born_on:
            raise InvalidCommand("data.taken_in_on", "must not lie before the dog's birth")
        if (self.taken_in_on - submitted_on).days > EARLIEST_TAKEN_IN_DAYS_AHEAD:
            raise InvalidCommand(
                "data.taken_in_on", "a dog is registered at most a month before it is taken in"
            )
        if self.paid_elsewhere is not None and self.paid_elsewhere.year > submitted_on.year:
            raise InvalidCommand("data.paid_elsewhere.year", "must not lie in the future")


def example(on: date) -> dict[str, Any]:
    """A registration every town accepts: a dog taken in two weeks ago, a chip of the day."""
    return {
        "keeper": {
            "born_on": "1985-04-12",
            "street": "Obergasse",
            "house_number": "12",
            "postcode": "61250",
            "place": "Usingen",
        },
        "dog": {
            "name": "Bello",
            "breed": "Labrador Retriever",
            "colour": "schwarz",
            "born_on": add_months(on, -24).isoformat(),
            "chip": f"276 098 {on:%y%m%d} 001",
        },
        "taken_in_on": date.fromordinal(on.toordinal() - 14).isoformat(),
        "dogs_in_household": 1,
    }
