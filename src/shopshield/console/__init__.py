"""The staff console: server-rendered pages under ``/console`` with sessions for people (issue 15)."""
