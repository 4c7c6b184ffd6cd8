"""Checks a `relayflow serve` started from an installed wheel (see scripts/test_wheel.sh).

Usage: check_served_wheel.py BASE_URL WHEEL

Waits for the server, then checks that `/` is the web app built into the wheel (the same
index.html, every script and stylesheet it names served), and that /docs and /redoc load
only files served by relayflow itself. Standard library only: it runs with any Python.
"""

from __future__ import annotations

import re
import sys
import time
import urllib.error
import urllib.request
import zipfile

STARTUP_TIMEOUT_S = 90.0
ASSET_PATTERN = re.compile(r"""(?:src|href)=["']([^"']+)["']""")


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (loopback)
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_until_up(base: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if fetch(f"{base}/healthz")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"relayflow did not answer {base}/healthz within {STARTUP_TIMEOUT_S:.0f} s")
        time.sleep(0.5)


def check_page(base: str, path: str, expected: bytes | None = None) -> list[str]:
    status, body = fetch(base + path)
    problems = [] if status == 200 else [f"GET {path}: {status}"]
    if expected is not None and body != expected:
        problems.append(f"GET {path} is not the index.html inside the wheel")
    for url in ASSET_PATTERN.findall(body.decode()):
        if url.startswith(("data:", "#")):  # inline, nothing to fetch
            continue
        if not url.startswith("/"):
            problems.append(f"{path} loads {url} from another host")
            continue
        asset_status, asset = fetch(base + url)
        if asset_status != 200 or not asset:
            problems.append(f"{path} needs {url}: {asset_status}")
        print(f"  {path} -> {url}: {asset_status}, {len(asset)} bytes")
    return problems


def main() -> None:
    base, wheel = sys.argv[1].rstrip("/"), sys.argv[2]
    with zipfile.ZipFile(wheel) as archive:
        index = archive.read("relayflow/webapp/index.html")
    wait_until_up(base)
    problems = check_page(base, "/", expected=index)
    problems += check_page(base, "/workflows", expected=index)  # the app's own routes
    for page in ("/docs", "/redoc"):
        problems += check_page(base, page)
    status, spec = fetch(f"{base}/openapi.json")
    if status != 200 or b'"relayflow"' not in spec:
        problems.append(f"GET /openapi.json: {status}")
    if problems:
        shown = "\n  ".join(problems)
        sys.exit(f"the installed wheel does not serve the whole product:\n  {shown}")
    print("wheel check: the installed wheel serves the web app, /docs and /redoc offline")


if __name__ == "__main__":
    main()
