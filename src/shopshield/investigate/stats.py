"""Tail probabilities for "more victims than chance explains".

Written out rather than taken from SciPy: the attribution needs a small, exact tail and a correction, and
they must give the same numbers on the DuckDB and the Spark paths (both call these). Sums run in
log space so that tails far below 1e-300 still order correctly (``log10_binomial_tail``).
"""

from __future__ import annotations

import math


def log10_binomial_tail(n: int, k: int, p: float) -> float:
    """log10 of P(X >= k) for X ~ Binomial(n, p); -inf when the probability is 0.

    The ranking compares these, so an actor at 1e-40 still ranks above one at 1e-20 even where
    the probabilities themselves would underflow.
    """
    if n < 0 or not k >= 0:
        raise ValueError("need n >= 0 and k >= 0")
    if not 0.0 <= p <= 1.0:
        raise ValueError("p must be a probability")
    if k == 0:
        return 0.0
    if k > n or p == 0.0:
        return -math.inf
    if p == 1.0:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [_log_choose(n, i) + i * log_p + (n - i) * log_q for i in range(k, n + 1)]
    top = max(terms)
    total = top + math.log(math.fsum(math.exp(t - top) for t in terms))
    return min(0.0, total / math.log(10.0))


def _log_choose(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def bonferroni(log10_p: float, tests: int) -> float:
    """The family-wise adjusted p-value for one of ``tests`` hypotheses, capped at 1."""
    return min(1.0, float(10.0 ** (log10_p + math.log10(max(tests, 1)))))
