"""Login risk: decide allow, challenge or deny before the store checks a password."""
