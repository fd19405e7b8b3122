"""Tickets: the customer-service cases that justify revealing a full personal value."""
