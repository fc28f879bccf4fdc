#!/usr/bin/env bash
# The README's main command: set up, then run the end-to-end demo on embedded defaults.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
exec anjungan demo "$@"
