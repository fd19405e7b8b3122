"""Official channels and the contact log: the store's own numbers, sender ids, domains and payee
accounts (the registry), every outbound contact its systems log, and the answer to a customer's
"did the store really contact me?" (issue 14, part A; docs/contact-verification.md)."""
