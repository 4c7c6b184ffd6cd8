"""Wheel build hook: the web app's production build goes inside the wheel.

`pip install .` from a checkout, `pip wheel .`, and a build from the sdist all run this:
it builds `web/` with npm (unless `web/dist` is already newer than its sources) and puts
`web/dist` into the package as `relayflow/webapp/`, where `relayflow serve` finds it
(`relayflow.api.web.default_web_dist`). An editable install skips it: it serves the
checkout's `web/dist`, which `make run` keeps built.

No npm here? Build the web app elsewhere into `web/dist` first, or set
RELAYFLOW_WHEEL_WITHOUT_WEB=1 for a wheel that serves the API only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WEB_SOURCES = (
    "src",
    "public",
    "index.html",
    "package.json",
    "package-lock.json",
    "vite.config.ts",
    "tsconfig.json",
    "tsconfig.app.json",
    "tsconfig.node.json",
)


def newest_mtime(web: Path) -> float:
    newest = 0.0
    for name in WEB_SOURCES:
        path = web / name
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
        elif path.is_dir():
            for item in path.rglob("*"):
                if item.is_file():
                    newest = max(newest, item.stat().st_mtime)
    return newest


def build_web(web: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(
            "building the relayflow wheel needs the web app: install Node.js 20+ with npm, "
            "or build web/dist first, or set RELAYFLOW_WHEEL_WITHOUT_WEB=1 for an API-only wheel"
        )
    installed = web / "node_modules" / ".package-lock.json"
    lock = web / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(  # noqa: S603
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=web, check=True
        )
    subprocess.run([npm, "run", "build"], cwd=web, check=True)  # noqa: S603


class WebAppBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get("RELAYFLOW_WHEEL_WITHOUT_WEB") == "1":
            self.app.display_warning("building a wheel without the web app (API only)")
            return
        web = Path(self.root) / "web"
        dist = web / "dist"
        index = dist / "index.html"
        if not index.is_file() or index.stat().st_mtime < newest_mtime(web):
            self.app.display_info("building the web app (npm) for the wheel")
            build_web(web)
        build_data["force_include"][str(dist)] = "relayflow/webapp"
