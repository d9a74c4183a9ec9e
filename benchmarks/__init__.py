"""Reproducible performance measurements, printed as ratios against a same-run baseline."""
