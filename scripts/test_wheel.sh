#!/usr/bin/env bash
# The wheel is the whole product: build it, install it in a fresh virtualenv (dependencies
# from requirements.lock), start `relayflow serve` on a temporary SQLite database and a free
# port with no network but loopback, and check that `/`, /docs and /redoc are served.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BUILD_PYTHON=${BUILD_PYTHON:-.venv/bin/python}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== building the wheel (with the web app)"
"$BUILD_PYTHON" -m pip wheel --quiet --no-deps -w "$work/dist" .
wheel=$(ls "$work"/dist/relayflow-*.whl)
echo "   $(basename "$wheel"): $(du -h "$wheel" | cut -f1)"

echo "== installing it in a fresh virtualenv"
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet -r requirements.lock
"$work/venv/bin/pip" install --quiet --no-deps "$wheel"

echo "== serving it with no network (loopback only) and loading /, /docs and /redoc"
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# Run from outside the checkout so nothing in it (web/dist) can stand in for the wheel.
cd "$work"
run_offline() {
  # A network namespace of its own with only loopback, when the machine allows one.
  if unshare --net true 2>/dev/null; then
    unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
  else
    echo "   (no network namespace here: serving without one)"
    "$@"
  fi
}
run_offline env -u RELAYFLOW_WEB_DIST RELAYFLOW_DATA_DIR="$work/data" RELAYFLOW_DATABASE_URL= \
  sh -c '"$1"/venv/bin/relayflow serve --host 127.0.0.1 --port "$2" >"$1/serve.log" 2>&1 &
         serve=$!; "$3" "$4" "http://127.0.0.1:$2" "$5"; status=$?
         kill "$serve"; wait "$serve"; exit $status' \
  sh "$work" "$port" "$PYTHON" "$OLDPWD/scripts/check_served_wheel.py" "$wheel" \
  || { echo "-- relayflow serve's log:"; cat "$work/serve.log"; exit 1; }
