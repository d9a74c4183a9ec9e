"""How values are stored in events: shared by the event store and the views (no I/O)."""
