"""Mailroom's core: configuration, models, mail stores and services (no Flask requests here)."""
