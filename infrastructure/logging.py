"""structlog: JSON lines when not on a terminal, readable on one; never personal data.

``PersonalData`` renders as ``[personenbezogen]`` wherever it is formatted, so even a
careless ``log.info("x", value=pd)`` does not leak it; the processor below also drops
values of keys that name personal fields.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from domain.personal_data import REDACTED_TEXT, Erased, PersonalData

PERSONAL_KEYS = frozenset(
    {"name", "display_name", "email", "phone", "address", "birth_date", "plate", "applicant"}
)


def redact_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Replace personal values (by type or by key) before anything is rendered."""
    for key, value in list(event_dict.items()):
        if isinstance(value, PersonalData | Erased) or key in PERSONAL_KEYS:
            event_dict[key] = REDACTED_TEXT
    return event_dict


class CurrentStderr:
    """Whatever ``sys.stderr`` is at the moment of writing (not when logging was set up).

    A CLI run under a test runner swaps stderr for a buffer and closes it afterwards; log
    lines from threads that outlive the run must not write into the closed buffer.
    """

    def write(self, text: str) -> int:
        """Write to the current stderr."""
        return sys.stderr.write(text)

    def flush(self) -> None:
        """Flush the current stderr."""
        sys.stderr.flush()


def configure_logging(log_format: str = "auto", level: str = "INFO") -> None:
    """Set up structlog and the standard library's logging to write to stderr."""
    as_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer() if as_json else structlog.dev.ConsoleRenderer()
    )
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    # Libraries that render and seal letters narrate every step at INFO (WeasyPrint's
    # progress, fontTools' subsetting, pyHanko's signing), and httpx every request to the
    # payment provider: their warnings are enough.
    named = logging.getLevelName(level.upper())
    quiet = max(logging.WARNING, named if isinstance(named, int) else logging.INFO)
    for chatty in ("weasyprint", "fontTools", "pyhanko", "pyhanko_certvalidator", "httpx"):
        logging.getLogger(chatty).setLevel(quiet)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
