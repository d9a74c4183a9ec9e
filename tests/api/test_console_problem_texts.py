"""The console's German words for the API's problems (#31): never the API's English text."""

from __future__ import annotations

from api.console.case_page import Offer, _show_problem
from api.console.forms import form_fields
from api.console.problem_texts import GENERIC_FIELD, GENERIC_PROBLEM, PROBLEM_MESSAGES
from domain.case_steps import CASE_STEPS

BASE = "https://vorgang.example/problems/"


def offer_for(name: str) -> Offer:
    step = next(s for s in CASE_STEPS if s.name == name)
    return Offer(step, form_fields(step.body))


def test_a_refusal_without_german_words_reads_as_the_german_sentence_for_its_kind() -> None:
    offer = offer_for("request_information")
    _show_problem(
        offer,
        {
            "type": BASE + "validation",
            "status": 422,
            "detail": "reply_by: the moon is not in the right phase",
            "errors": [
                {"in": "body", "field": "reply_by", "message": "the moon is not in the right phase"}
            ],
        },
    )
    assert offer.errors == {"reply_by": [GENERIC_FIELD]}
    assert offer.message == PROBLEM_MESSAGES["validation"]
    assert "moon" not in repr(offer.__dict__)


def test_a_known_refusal_reads_in_german_and_the_english_detail_is_never_appended() -> None:
    offer = offer_for("request_information")
    _show_problem(
        offer,
        {
            "type": BASE + "validation",
            "status": 422,
            "detail": "reply_by: the reply deadline must lie in the future",
            "errors": [
                {
                    "in": "body",
                    "field": "reply_by",
                    "message": "the reply deadline must lie in the future",
                }
            ],
        },
    )
    assert offer.errors == {"reply_by": ["Die Antwortfrist muss in der Zukunft liegen."]}
    decide = offer_for("decide")
    _show_problem(
        decide,
        {
            "type": BASE + "invalid-transition",
            "status": 409,
            "detail": "cannot decide a case that is submitted; allowed now: claim",
            "current_status": "submitted",
        },
    )
    assert decide.message is not None
    assert decide.message.startswith(PROBLEM_MESSAGES["invalid-transition"])
    assert "cannot" not in decide.message
    assert "submitted" not in decide.message
    unknown = offer_for("claim")
    _show_problem(unknown, {"type": BASE + "something-new", "status": 409, "detail": "English"})
    assert unknown.message == GENERIC_PROBLEM
