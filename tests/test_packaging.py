"""The lock files pin what pyproject.toml asks for, so `make run`, `make test` and CI
install what was tested; a dependency added without `make lock` fails here."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pins(lock: str) -> dict[str, str]:
    """name -> pinned version, for the entries that apply to this interpreter."""
    found: dict[str, str] = {}
    for line in (ROOT / lock).read_text().splitlines():
        if not line or line.startswith((" ", "#", "-")):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"{lock}: {line} is not pinned"
        found[canonicalize_name(requirement.name)] = specifier.version
    return found


def requirements(group: str | None) -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    listed = project["dependencies"] if group is None else project["optional-dependencies"][group]
    return [Requirement(text) for text in listed]


def unmet(lock: str, wanted: list[Requirement]) -> list[str]:
    pinned = pins(lock)
    environment = default_environment()
    problems = []
    for requirement in wanted:
        if requirement.marker is not None and not requirement.marker.evaluate(environment):
            continue
        version = pinned.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} is not in {lock}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{lock} pins {requirement.name}=={version}, outside {requirement}")
    return problems


@pytest.mark.parametrize(
    ("lock", "groups"),
    [("requirements.lock", [None]), ("requirements-dev.lock", [None, "dev"])],
)
def test_the_lock_pins_every_dependency_within_its_range(
    lock: str, groups: list[str | None]
) -> None:
    wanted = [r for group in groups for r in requirements(group)]
    problems = unmet(lock, wanted)
    assert not problems, "run `make lock` and commit the lock files:\n" + "\n".join(problems)


def test_the_wheel_keeps_version_ranges_not_pins() -> None:
    for requirement in requirements(None):
        operators = {s.operator for s in requirement.specifier}
        assert "==" not in operators, f"{requirement} pins a version in the wheel's metadata"


def test_the_wheel_build_hook_ships_the_web_app_where_serve_looks() -> None:
    from relayflow.api.web import PACKAGED_WEB_DIST

    hook = (ROOT / "hatch_build.py").read_text()
    assert '"relayflow/webapp"' in hook
    assert PACKAGED_WEB_DIST.relative_to(ROOT / "src") == Path("relayflow/webapp")
