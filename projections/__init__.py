"""Read models built from the event log: each answers one question (inbox, audit trail)."""
