#!/usr/bin/env bash
# Deploy the controller firmware to an RP2040 board running MicroPython, from a checkout:
#   firmware/deploy.sh [PORT]      PORT: /dev/ttyACM0 (default: mpremote's auto)
#   firmware/deploy.sh --dry-run   compile only, list what would be copied
# The same as `anjungan firmware deploy` (drivers/firmware_deploy.py), which an installed
# kiosk runs; this wrapper only picks the checkout's virtualenv.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$(command -v python3)"
[ -x "$HERE/../.venv/bin/python" ] && PY="$HERE/../.venv/bin/python"
cd "$HERE/.."
exec "$PY" -m entrypoints.cli firmware deploy "$@"
