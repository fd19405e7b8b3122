"""Registered domains (eTLD+1) by the Public Suffix List that the ``publicsuffixlist`` package
ships, read from the package, never downloaded.

One reading for every domain that asks "what did someone register?": the scam-report clusters
(``scams.indicators``) and the link checker (``verify.hosts``) must agree, or a link the checker
calls a lookalike of example.com.cn would cluster under com.cn.
"""

from __future__ import annotations

from functools import cache

from publicsuffixlist import PublicSuffixList


@cache
def suffix_list() -> PublicSuffixList:
    # Unknown endings are not public suffixes: "jd.zzzz" has none, and each caller decides what
    # that means for it (the link checker: not a link; the clusters: the last two labels).
    return PublicSuffixList(accept_unknown=False)


def registered_domain(host: str) -> tuple[str, str] | None:
    """(registered domain, public suffix) of a lower-case Unicode host name, or None when it ends
    in no known public suffix or is one itself."""
    psl = suffix_list()
    suffix = psl.publicsuffix(host)
    registered = psl.privatesuffix(host)
    if suffix is None or registered is None:
        return None
    return registered, suffix
