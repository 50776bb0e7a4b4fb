#!/usr/bin/env bash
# Set up everything on a fresh Debian 12 machine (as root), start the local mail
# stack, create the demo domain once and serve Mailroom as the unprivileged `mailroom`
# user. Ctrl-C stops the web app; `flask --app app stack down` stops the mail daemons.
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

python -m flask --app app stack up
echo
echo "Demo logins:"
python -m flask --app app demo
echo
# The data folder is decided by this checkout; a copy of the app (when the checkout
# is private to root) must keep using it.
export MAILROOM_DATA_DIR="$(python -c 'from core.config import load_config; print(load_config()["DATA_DIR"])')"
home="$(python -m flask --app app stack app-home)"
[ "$home" = "$ROOT" ] || echo "The mailroom user cannot read $ROOT: the app runs from a copy in $home."
echo "Mailroom: http://${MAILROOM_HOST:-127.0.0.1}:${MAILROOM_PORT:-8000}/ (served as user mailroom)"
cd "$home"
exec runuser -u mailroom -- "$home/.venv/bin/python" app.py
