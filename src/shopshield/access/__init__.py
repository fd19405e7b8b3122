"""Access events: the record of every read of personal data and every refusal, and daily quotas."""
