#!/usr/bin/env bash
# Set up (first run only) and run pith-bib on the bundled sample data, offline.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
cd "$root"
pith-bib verify tests/data/seeds/*.txt
