"""Wiring: settings, persistence, logging, the command line."""
