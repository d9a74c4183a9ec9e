"""Use cases: load what a command needs, call the domain, save every changed aggregate once."""
