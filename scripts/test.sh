#!/usr/bin/env bash
# Set up (first run only) and run every check: ruff, then the test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
cd "$root"
ruff check .
python -m pytest "$@"
