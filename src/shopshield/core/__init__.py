"""The neutral core every domain shares: callers and permissions, the role policy, access events,
ids and shared schemas, times, errors, files, the transaction API and the HTML builder.

It imports no domain; every domain may import it (decision 0020).
"""
