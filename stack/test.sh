#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian 12 machine (as root): installs the mail
# daemons and Chromium when missing; the tests start their own stack on free ports.
MAILROOM_INSTALL_BROWSER=1 source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

exec python -m pytest "$@"
