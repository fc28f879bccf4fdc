#!/usr/bin/env bash
# The README's test command: set up, lint, type-check, then the whole test suite (slow tests too).
set -euo pipefail
export ANJUNGAN_TEST_TOOLS=1
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
echo "== ruff" && ruff check .
echo "== mypy" && mypy
echo "== import contracts" && lint-imports --no-cache
# A private temp root: pytest prunes old numbered temp folders, which would pull the floor
# from under any other pytest run on the same machine (and theirs from under ours).
echo "== pytest" && exec python -m pytest --basetemp="$(mktemp -d /tmp/anjungan-tests.XXXXXX)" "$@"
