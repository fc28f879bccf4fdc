#!/usr/bin/env bash
# Shared set-up for the README's two commands: system packages, virtualenv, Python packages.
# Idempotent and quiet when everything is already there. Sourced, not run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

need_apt=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have mosquitto || need_apt+=(mosquitto)
# the tests run a private PostgreSQL (broker/queue/private_postgres.py): initdb and pg_ctl, no server running
have initdb || compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || need_apt+=(python3-venv)
if [ "${ANJUNGAN_TEST_TOOLS:-0}" = 1 ]; then  # the test command: what the tests drive from outside
  have chromium || need_apt+=(chromium)
  have chromedriver || need_apt+=(chromium-driver)
  have mosquitto_pub || need_apt+=(mosquitto-clients)  # tests/security attacks the broker with them
  have Xvfb || need_apt+=(xvfb)           # tests/kiosk/test_window.py: the real window, real input events
  have xdotool || need_apt+=(xdotool)
  have faketime || need_apt+=(faketime)   # the trust tests run Mosquitto and openssl in the future
  have debootstrap || need_apt+=(debootstrap)  # tests/deploy: the installer on a fresh Debian root
  have cage || need_apt+=(cage)          # tests/deploy: `systemd-analyze verify` finds the kiosk unit's compositor
  have nats-server || need_apt+=(nats-server)  # the clustered broker's tests (`provision nats`)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing system packages: ${need_apt[*]}; run: sudo apt-get install ${need_apt[*]}" >&2
    exit 1
  fi
fi
# mosquitto lives in /usr/sbin, which a non-root PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) export PATH="$PATH:/usr/sbin" ;; esac

stamp="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -m pip --version >/dev/null 2>&1; then
    rm -rf "$VENV"
    python3 -m venv "$VENV" || { rm -rf "$VENV"; sleep 2; python3 -m venv "$VENV"; } || {
      echo "setup: cannot create a virtualenv with $(command -v python3); install python3-venv" >&2
      exit 1
    }
  fi
  echo "setup: installing Python packages into .venv (first run takes a minute)" >&2
  "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
  "$VENV/bin/python" -m pip install -q -e "$ROOT[dev]"
  rm -f "$VENV"/.installed-*
  touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
