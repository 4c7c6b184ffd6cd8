"""How long the `relayflow` command takes, start to exit: `--help`, and `run` on an
example (whose run itself takes tens of milliseconds; the rest is start-up).

Each command runs `--repeat` times (after one warm-up, so bytecode is cached) in a
fresh process with no RELAYFLOW_ settings; prints the median and best wall time and
the median CPU time (user + system), which the other load on the machine moves less.

Run: `.venv/bin/python bench/cli_startup.py [--repeat N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELAYFLOW = Path(sys.executable).with_name("relayflow")
COMMANDS = {
    "relayflow --help": ["--help"],
    "relayflow run examples/router.json": [
        "run",
        str(ROOT / "examples" / "router.json"),
        "--input",
        json.dumps({"message": "My invoice is wrong"}),
    ],
    "relayflow run examples/research-write-review.json": [
        "run",
        str(ROOT / "examples" / "research-write-review.json"),
        "--input",
        json.dumps({"topic": "durable workflows"}),
    ],
}


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `relayflow *args`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([str(RELAYFLOW), *args], env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAYFLOW_")}
    env["RELAYFLOW_DATA_DIR"] = tempfile.mkdtemp(prefix="relayflow-bench-")
    print(f"load average {os.getloadavg()[0]:.2f}, {options.repeat} runs each")
    for name, args in COMMANDS.items():
        timed(args, env)  # warm-up
        walls, cpus = zip(*(timed(args, env) for _ in range(options.repeat)), strict=True)
        print(
            f"{name:<40} wall median {statistics.median(walls):.2f} s, "
            f"best {min(walls):.2f} s; CPU median {statistics.median(cpus):.2f} s"
        )


if __name__ == "__main__":
    main()
