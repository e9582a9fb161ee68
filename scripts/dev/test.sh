#!/usr/bin/env bash
# The test command (`npm test`): machine setup, typecheck, lint and format check, then
# every suite: unit and Pulumi mock tests, and the suites that run real software
# under Docker (required here: a missing engine fails instead of skipping).
set -euo pipefail
cd "$(dirname "$0")/../.."

start=$(date +%s)
bash scripts/dev/setup-machine.sh
npm run --silent typecheck
npm run --silent lint
FLOTILLA_REQUIRE_DOCKER=1 npx vitest run "$@"
echo "test: finished in $(($(date +%s) - start)) s"
