"""Mailroom's part of the Radicale process: its launcher and login check.

A top-level package in Radicale's process (PYTHONPATH is stack/carddav, so the heavy
`stack` package is never imported there, by Debian's python3 without the app's
virtualenv); the app imports the token module as stack.carddav.mailroom_carddav.token.
Standard library and Radicale only.
"""

USER = "radicale"  # the Debian package's system user, which Radicale runs as
