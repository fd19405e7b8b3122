"""``shopshield demo``: a synthetic store filled through the real services, a fortnight of its
traffic with a planted insider, a credential-stuffing wave and the scam wave the insider fed, the
investigation run, and the app served on it (docs/demo.md)."""
