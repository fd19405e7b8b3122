"""ShopShield's benchmarks: ``python -m bench`` runs them all, ``python -m bench NAME`` runs one.

Each benchmark module prints a Rich table and rewrites its own section of docs/benchmarks.md.
"""
