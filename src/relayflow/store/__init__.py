"""Persistence: typed models, sessions, migrations and repositories.

This package is the only code that writes SQL.
"""
