"""Packaging habits: the version in one place, linters pinned, the tested lower bounds."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from dynsub_cli import __version__

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def test_the_version_is_written_once() -> None:
    assert "version" not in PROJECT
    assert PROJECT["dynamic"] == ["version"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "dynsub_cli/__init__.py"
    assert importlib.metadata.version("dynsub") == __version__


def test_the_linters_ci_runs_are_pinned_exactly() -> None:
    dev = PROJECT["optional-dependencies"]["dev"]
    pins = {re.split(r"[=<>!~]", r)[0]: r for r in dev if not r.startswith("dynsub")}
    assert set(pins) == {"ruff", "mypy"}
    assert all(re.fullmatch(r"[\w-]+==[\d.]+", pin) for pin in pins.values()), pins
    assert "'.[dev]'" in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_the_oldest_supported_releases_are_the_lower_bounds() -> None:
    lower = {}
    for requirement in PROJECT["dependencies"]:
        name, _, version = requirement.partition(">=")
        lower[name.lower()] = version
    oldest = {}
    for row in (ROOT / ".ci/oldest.txt").read_text(encoding="utf-8").splitlines():
        if row and not row.startswith("#"):
            name, _, version = row.partition("==")
            oldest[name.lower()] = version
    assert oldest == {k: lower[k] for k in ("cryptography", "pyopenssl")}
    assert "-c .ci/oldest.txt" in (ROOT / ".ci/run").read_text(encoding="utf-8")


def test_ci_and_readme_install_the_system_packages_with_one_script() -> None:
    script = "scripts/install-test-deps"
    assert (ROOT / script).stat().st_mode & 0o111
    assert f"\n{script}\n" in (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert f"{script} && " in (ROOT / "README.md").read_text(encoding="utf-8")
