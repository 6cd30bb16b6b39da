"""The core's engines are what their documentation says, and stay small and seam-bound.

- Each procedure's transition table (the data the engine runs on) equals the table in its
  module docstring and in docs/architecture.md.
- Engines and the session stay under 350 lines; the package has no ``assert`` (python -O
  removes them, so they cannot guard behaviour).
- Only core/assembly.py imports a concrete store or EAP server: every other core module sees
  the seams (SubscriptionStore, EapServer).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType

import pytest

from dynsub_cli.core import onboarding, registration
from dynsub_cli.core.procedure import Procedure

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "dynsub_cli"
ARCHITECTURE = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
ENGINES: dict[ModuleType, type[Procedure]] = {
    onboarding: onboarding.Onboarding,
    registration: registration.Registration,
}


def documented_table(text: str) -> tuple[str, dict[tuple[str, str], tuple[str, frozenset[str]]]]:
    """The reST table of (phase, message) -> (handler, then) in ``text``, and its source."""
    found = re.search(r"^(=+  =+  =+  =+)\nphase .*\n\1\n((?:.+\n)+?)\1$", text, re.MULTILINE)
    assert found, "no transition table"
    rows = {}
    for line in found.group(2).splitlines():
        phase, message, handler, then = re.split(r"\s{2,}", line.strip(), maxsplit=3)
        nexts = frozenset() if then == "(refused)" else frozenset(then.split(", "))
        rows[(phase, message)] = (handler, nexts)
    return found.group(0), rows


def code_table(engine: type[Procedure]) -> dict[tuple[str, str], tuple[str, frozenset[str]]]:
    return {
        (phase.name, kind.__name__): (step.handler.__name__, frozenset(p.name for p in step.then))
        for (phase, kind), step in engine.TRANSITIONS.items()
    }


@pytest.mark.parametrize("module", list(ENGINES), ids=lambda m: m.__name__)
def test_the_documented_transitions_are_the_ones_the_engine_runs(module: ModuleType) -> None:
    source, documented = documented_table(module.__doc__ or "")
    assert documented == code_table(ENGINES[module])
    assert source in ARCHITECTURE, f"docs/architecture.md lacks the table of {module.__name__}"


def test_a_table_that_differs_is_caught() -> None:
    _, documented = documented_table(onboarding.__doc__ or "")
    documented[("EAP", "AuthenticationResponse")] = ("_eap_response", frozenset({"EAP"}))
    assert documented != code_table(onboarding.Onboarding)


@pytest.mark.parametrize("name", ["session", "onboarding", "registration", "procedure"])
def test_engines_stay_small(name: str) -> None:
    lines = (PACKAGE / "core" / f"{name}.py").read_text(encoding="utf-8").count("\n")
    assert lines < 350, f"core/{name}.py has {lines} lines: split it by concept"


def test_the_package_has_no_assert() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert not found, found


#: Modules and names that are a concrete implementation behind a seam.
CONCRETE = {
    "dynsub_cli.store.subscriptions": None,
    "dynsub_cli.store": {"Subscriptions"},
    "dynsub_cli.eap.builtin": None,
    "dynsub_cli.eap.tls": {"Authenticator"},
    "dynsub_cli.eap": {"Authenticator"},
}


def concrete_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in CONCRETE:
            names = CONCRETE[node.module]
            found += [
                f"{node.module}.{a.name}" for a in node.names if names is None or a.name in names
            ]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in CONCRETE and CONCRETE[a.name] is None]
    return found


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE / "core").glob("*.py")),
    ids=lambda p: p.name,
)
def test_only_the_assembly_imports_concrete_backends(path: Path) -> None:
    found = concrete_imports(ast.parse(path.read_text(encoding="utf-8")))
    if path.name == "assembly.py":
        assert found, "the assembly should be where the concrete backends come in"
    else:
        assert not found, f"core/{path.name} imports {found}: use the seam"


def test_the_concrete_import_check_can_fail() -> None:
    tree = ast.parse("from dynsub_cli.store import Subscriptions\nimport dynsub_cli.eap.builtin\n")
    assert concrete_imports(tree) == ["dynsub_cli.store.Subscriptions", "dynsub_cli.eap.builtin"]
