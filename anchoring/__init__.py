"""Tamper-evident event log, proofs and on-chain anchoring."""
