#!/usr/bin/env bash
# Set up everything on a fresh Debian 12 machine (as root), start the local mail
# stack, create the demo domain once and serve Mailroom. Ctrl-C stops the web app;
# `flask --app app stack down` stops the mail daemons.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

flask --app app stack up
echo
echo "Demo logins:"
flask --app app demo
echo
echo "Mailroom: http://${MAILROOM_HOST:-127.0.0.1}:${MAILROOM_PORT:-8000}/"
exec python app.py
