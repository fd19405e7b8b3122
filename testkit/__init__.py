"""What the tests and the benchmarks both use: synthetic customers and a round-trip-counting Redis.

Neither ``tests`` nor ``bench`` imports the other; both import this package. It is not part of
the installed product: it is found from the repository's root, as ``tests`` and ``bench`` are.
"""
