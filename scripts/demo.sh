#!/usr/bin/env bash
# Set up (first run only), then annotate copies of the bundled sample libraries
# offline against the bundled sample mirror (five real registry documents),
# show what changed, and run the pre-commit check on the result.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/bootstrap.sh"
cd "$root"
demo="out/demo"
rm -rf "$demo" && mkdir -p "$demo"
cp sample_libraries/*.bib "$demo/"
export PITH_BIB_CACHE_DIR="$demo/cache"

run() {  # exit 1 means "findings", which the samples contain on purpose
  set +e; "$@"; local code=$?; set -e
  if [ "$code" -gt 1 ]; then echo "demo: '$*' failed with exit $code" >&2; exit "$code"; fi
}

echo "== pith-bib annotate (offline, sample mirror) =="
run pith-bib annotate --offline --mirror sample_libraries/mirror "$demo"/*.bib
echo
echo "== what changed in distributed-training.bib =="
diff -u sample_libraries/distributed-training.bib "$demo/distributed-training.bib" || true
echo
echo "== pith-bib check (the pre-commit hook; offline, from the lock files) =="
run pith-bib check "$demo"/*.bib
echo
echo "The deliberate failures above (a wrong eprint, invented authors, an unknown id) are part of the sample."
echo "Annotated copies and lock files are in $demo/."
