"""REVIEW (#30): the case file (Akte).

Each test is a defect found in review (once marked ``xfail(strict=True)``; fixed, the
marks are gone). Checked and found sound (no test here): erased
data (name, e-mail, an objection's free text) reads "[gelöscht]" in JSON, HTML and PDF;
markup in applicant data is escaped in the printed HTML (autoescape on, the PDF's fetcher
limited to the template directory); another town's auditor gets 404, clerks, applicants,
admins and the cash office 403.
"""

from __future__ import annotations

from api.routes.case_file import HTML, PDF, wanted


def test_a_media_type_refused_with_q_0_is_not_given() -> None:
    assert wanted(None, "application/pdf;q=0, text/html") == HTML


def test_the_preferred_media_type_is_given() -> None:
    assert wanted(None, "text/html;q=0.1, application/pdf") == PDF
