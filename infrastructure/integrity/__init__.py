"""The tamper-evident log: signing, checkpoints, verification and a case's proof (decision 35)."""
