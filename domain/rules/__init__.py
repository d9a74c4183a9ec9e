"""Versioned rules: pure functions and data; every version stays available for replay."""
