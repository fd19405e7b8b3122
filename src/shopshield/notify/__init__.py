"""Customer notifications: what customers are told and how (the event catalogue, preferences, the
anti-phishing code, message templates and the delivery policy). So far pure modules only; the
outbox, the worker, the adapters and the routes build on them (docs/notifications.md)."""
