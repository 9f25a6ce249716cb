#!/usr/bin/env bash
# Runs jest (ESM mode) over the compiled tests in dist/ and ends with one plain line:
#   tests: N passed, N failed, N skipped
# Arguments go to jest (e.g. a path filter). Exit status is jest's.
set -uo pipefail
cd "$(dirname "$0")/.."
results=dist/test-results.json
rm -f "$results"
node --experimental-vm-modules --no-warnings=ExperimentalWarning node_modules/jest/bin/jest.js \
  --json --outputFile="$results" "$@"
rc=$?
if [[ -f $results ]]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
    if (r.numRuntimeErrorTestSuites > 0) console.log(`suites that failed to run: ${r.numRuntimeErrorTestSuites}`);
  ' "$results"
else
  echo "tests: 0 passed, 1 failed (jest wrote no results)"
fi
exit $rc
