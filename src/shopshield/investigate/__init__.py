"""Investigation: from scam reports to the source of the leak (attribution, insiders, canaries,
breach response)."""
