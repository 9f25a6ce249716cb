#!/usr/bin/env bash
# Removes compiled files in dist/ whose TypeScript source is gone, so a deleted test
# never runs from a stale build.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -d dist ]] || exit 0
find dist -name '*.js' -print0 | while IFS= read -r -d '' js; do
  src=${js#dist/}
  [[ -f ${src%.js}.ts ]] || rm -f "$js" "$js.map" "${js%.js}.d.ts"
done
