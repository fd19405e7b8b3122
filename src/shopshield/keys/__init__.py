"""Key management: the versioned master key, per-customer data keys, field encryption, blind indexes."""
