"""Tamper-evident audit log: Merkle tree, checkpoints and proofs over access events."""
