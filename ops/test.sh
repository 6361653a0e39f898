#!/usr/bin/env bash
# Runs every test level (unit, int against private nats-servers, e2e against a booted appliance)
# and ends with one summary line `N passed, N failed, N skipped` that CI reads.
set -uo pipefail
cd "$(dirname "$0")/.."
results=.test-results.json
rm -f "$results"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
rc=$?
node ops/test-summary.mjs "$results" || rc=1
exit $rc
