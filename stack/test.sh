#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian 12 machine (as root): installs the mail
# daemons and Chromium when missing; the tests start their own stack on free ports.
MAILROOM_INSTALL_BROWSER=1 source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

# pytest-xdist workers, each with a stack of its own (tests/conftest.py keeps every test
# file whole on one worker, in collection order); 0 or 1 runs everything in this process.
workers="${MAILROOM_TEST_WORKERS:-3}"
case "$workers" in
  0|1) ;;
  *) set -- -n "$workers" "$@" ;;
esac
exec python -m pytest "$@"
