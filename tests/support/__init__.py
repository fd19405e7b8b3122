"""Everything tests share that is not a fixture: one module per kind of thing it holds.

Fixtures pytest must find stay in the conftest.py files; what they build comes from here.
"""
