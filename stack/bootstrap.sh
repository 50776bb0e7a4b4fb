# Sourced by demo.sh and test.sh: a Python virtualenv with the pinned requirements.
# Installs python3-venv through apt when this Debian lacks it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Debian's own interpreter: the web app runs as the unprivileged `mailroom` user, who
# must be able to run the virtualenv's python (a pyenv under /root would be unreadable).
PY=/usr/bin/python3
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "Mailroom needs python3 with venv: run as root on Debian 12, or install python3-venv." >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
fi

if [ -f .venv/pyvenv.cfg ] && ! grep -qx 'home = /usr/bin' .venv/pyvenv.cfg; then
  echo "Rebuilding .venv on Debian's $PY (it was made with another interpreter)." >&2
  rm -rf .venv
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
# Reinstall only when requirements.txt changed since the last install.
stamp=".venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
# The Debian packages the app and the stack need (a no-op when all are there); this
# runs before anything imports the app, which needs libmagic.
python -m stack install ${MAILROOM_INSTALL_BROWSER:+--browser}
