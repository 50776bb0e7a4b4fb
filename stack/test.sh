#!/usr/bin/env bash
# Run the whole test suite on a fresh Debian 12 machine (as root): installs the mail
# daemons and Chromium when missing; the tests start their own stack on free ports.
# Without arguments it runs everything on SQLite, then the tests marked `directory` again
# on PostgreSQL (each worker's stack runs its own cluster); with arguments, one pytest
# run of those (add --database=postgresql for PostgreSQL).
MAILROOM_INSTALL_BROWSER=1 source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"

# pytest-xdist workers, each with a stack of its own (tests/conftest.py keeps every test
# file whole on one worker, in collection order); 0 or 1 runs everything in this process.
workers="${MAILROOM_TEST_WORKERS:-3}"
parallel=()
case "$workers" in
  0|1) ;;
  *) parallel=(-n "$workers") ;;
esac
if [ "$#" -gt 0 ]; then
  exec python -m pytest "${parallel[@]}" "$@"
fi
sqlite=0 postgresql=0  # bootstrap.sh set -e: the second pass runs whatever the first gave
python -m pytest "${parallel[@]}" || sqlite=$?
began=$SECONDS
python -m pytest "${parallel[@]}" --database=postgresql -m directory tests/integration || postgresql=$?
echo "PostgreSQL pass (tests marked directory): exit $postgresql in $((SECONDS - began)) s"
[ "$sqlite" -eq 0 ] && exit "$postgresql"
exit "$sqlite"
