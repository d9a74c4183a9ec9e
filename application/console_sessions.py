"""Signed-out console sessions: a copy of a session cookie ends with the sign-out (decision 38).

The console's session lives in a sealed cookie; signing out removes the browser's copy, and
records the session's id here until the session would have expired anyway. Every API process
asks this record when it opens a session cookie (one lookup by primary key per request), so a
copy of the cookie taken before the sign-out (a shared PC's profile, a proxy, malware) opens
nothing afterwards, in whichever process it is presented.
"""

from __future__ import annotations

from typing import Protocol


class SignedOutSessions(Protocol):
    """The sessions signed out before their expiry, shared by every API process."""

    def sign_out(self, sid: str, expires: int) -> None:
        """Record ``sid`` as signed out until ``expires`` (Unix seconds); drop expired ones."""

    def signed_out(self, sid: str) -> bool:
        """Whether the session ``sid`` was signed out (one indexed lookup)."""
