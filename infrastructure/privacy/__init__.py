"""Crypto-shredding (docs/architecture.md, decision 14): keys, encryption, erasure."""
