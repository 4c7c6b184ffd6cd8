#!/usr/bin/env bash
# The Python suite on SQLite and on PostgreSQL at the same time: each run has its own
# databases, and most tests wait on I/O, so two runs side by side take little more than one.
# Each run's output goes to its own log, printed whole when both are done.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST="${PYTEST:-.venv/bin/pytest}"
logs="$(mktemp -d)"
pids=()
for backend in sqlite postgres; do
  RELAYFLOW_TEST_DB="$backend" "$PYTEST" -q -p no:cacheprovider "$@" >"$logs/$backend.log" 2>&1 &
  pids+=("$!")
done
status=0
for i in 0 1; do
  backend=$([ "$i" = 0 ] && echo sqlite || echo postgres)
  if wait "${pids[$i]}"; then result=passed; else result=FAILED; status=1; fi
  echo "================ Python tests on $backend: $result"
  cat "$logs/$backend.log"
done
rm -rf "$logs"
exit "$status"
