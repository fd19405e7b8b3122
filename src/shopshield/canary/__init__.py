"""Canary customers: decoy records planted per recipient of the store's data, so that one scam call
to a decoy names where the data leaked."""
