"""Breach response: from a confirmed source to the customers it reached, their warnings, and a
draft of the report to the regulator."""
