#!/usr/bin/env bash
# The web app's CI: install from the lock file, type-check and build, component tests,
# then the end-to-end tests in Debian's chromium against `relayflow serve` (needs ../.venv).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1 && [ -z "${CHROMIUM_PATH:-}" ]; then
  echo "installing Debian's chromium for the end-to-end tests"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

npm ci --no-audit --no-fund
# The typed client must match the API as it is: regenerate and refuse any drift.
npm run gen:api
if ! git diff --quiet -- src/api/openapi.json src/api/schema.d.ts; then
  echo "the generated API client is out of date: run 'npm run gen:api' in web/ and commit" >&2
  git --no-pager diff --stat -- src/api/openapi.json src/api/schema.d.ts >&2
  exit 1
fi
npm test
npm run e2e
