"""Thin, context-managed stores over the mail protocols."""
