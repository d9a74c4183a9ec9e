"""Crypto-shredding of personal data (DESIGN.md decision 14): keys, encryption, erasure."""
