#!/usr/bin/env bash
# Set up everything on a fresh Debian 12 machine (as root), start the local mail
# stack, create the demo domain once and serve Mailroom as the unprivileged `mailroom`
# user. Ctrl-C stops the web app; `flask --app app stack down` stops the mail daemons.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

flask --app app stack up
echo
echo "Demo logins:"
flask --app app demo
echo
if ! runuser -u mailroom -- test -r "$ROOT/app.py" -a -x "$ROOT/.venv/bin/python"; then
  echo "The mailroom user cannot read $ROOT: the web app runs as that user, never as root." >&2
  exit 1
fi
echo "Mailroom: http://${MAILROOM_HOST:-127.0.0.1}:${MAILROOM_PORT:-8000}/ (served as user mailroom)"
exec runuser -u mailroom -- "$ROOT/.venv/bin/python" app.py
