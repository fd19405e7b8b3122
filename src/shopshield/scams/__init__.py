"""Scam reports: taken in from customers (API, CSV, JSON lines), summarised, linked into clusters by
shared scammer indicators, and written out as a case file for police and regulators."""
