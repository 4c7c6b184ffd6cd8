#!/usr/bin/env bash
# The Python suite on SQLite and on PostgreSQL at the same time, each split in shards
# (groups of test folders) that run side by side: every run has its own databases and
# most tests wait on I/O or on processes they started, so the shards overlap well on
# a small machine. Each shard's output goes to its own log, printed whole at the end.
# Extra arguments go to every pytest run (e.g. `-x`, `-k name`).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST="${PYTEST:-.venv/bin/pytest}"
API_HEAVY="tests/api/test_authorization.py tests/api/test_openapi_fuzz.py"
SHARDS=(
  "$API_HEAVY"
  "tests/api tests/interop ${API_HEAVY//tests/--ignore=tests}"
  "tests/runtime"
  "tests/triggers tests/engine tests/agents tests/store tests/telemetry tests/test_*.py"
)
# A test folder left out of every shard would never run: refuse that.
for dir in tests/*/; do
  dir="${dir%/}"
  compgen -G "$dir/test_*.py" >/dev/null || continue
  [[ " ${SHARDS[*]} " == *" $dir "* ]] || { echo "$dir is in no shard of $0" >&2; exit 2; }
done
# Tests that time other users' answers during an attack, or that stop the database, run
# after the shards, one database at a time, on a machine that is otherwise quiet.
QUIET="timing or faults"
QUIET_NOT="not ($QUIET)"
logs="$(mktemp -d)"
names=()
pids=()
for backend in sqlite postgres; do
  for i in "${!SHARDS[@]}"; do
    name="$backend-$((i + 1))"
    # shellcheck disable=SC2086  # a shard is a list of paths
    RELAYFLOW_TEST_DB="$backend" "$PYTEST" -q -p no:cacheprovider -m "$QUIET_NOT" ${SHARDS[$i]} "$@" \
      >"$logs/$name.log" 2>&1 &
    names+=("$name")
    pids+=("$!")
  done
done
status=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then result=passed; else result=FAILED; status=1; fi
  echo "================ ${names[$i]} (${SHARDS[$((i % ${#SHARDS[@]}))]}): $result"
  cat "$logs/${names[$i]}.log"
done
for backend in sqlite postgres; do
  name="$backend-quiet"
  names+=("$name")
  echo "================ $name (-m \"$QUIET\")"
  if RELAYFLOW_TEST_DB="$backend" "$PYTEST" -q -p no:cacheprovider -m "$QUIET" tests "$@" \
    >"$logs/$name.log" 2>&1; then :; else
    rc=$?
    [ "$rc" -eq 5 ] || status=1  # 5: nothing selected (e.g. by -k)
  fi
  cat "$logs/$name.log"
done
for name in "${names[@]}"; do  # the verdicts together, last
  echo "$name: $(tail -n 1 "$logs/$name.log")"
done
rm -rf "$logs"
exit "$status"
