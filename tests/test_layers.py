"""The import rules of docs/architecture.md section 1, enforced on the source with ast.

A lower layer never imports a higher one; only ``cli`` imports click or rich, prints or exits.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "dynsub_cli"

# Which of the package's own layers each layer may import. A layer is the first component
# below dynsub_cli (a package or a top-level module).
ALLOWED: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "files": {"errors"},
    "enrollment": set(),
    "nas": {"errors"},
    "security": {"errors", "nas"},
    "pki": {"errors", "files"},
    "eap": {"errors", "pki"},
    # config sizes what core.toml puts on the wire with the nas encoders (config/wire.py), so
    # that a setting no UE could be sent is refused at load time, not at every onboarding.
    "config": {"errors", "files", "nas", "enrollment"},
    "pcap": {"errors", "files"},
    "store": {"errors", "files", "enrollment", "security"},
    "aaa": {"errors", "files", "enrollment", "config", "pki", "eap"},
    "core": {
        "errors",
        "files",
        "enrollment",
        "pcap",
        "config",
        "pki",
        "nas",
        "security",
        "eap",
        "store",
        "aaa",
    },
    "ue": {"errors", "files", "pcap", "pki", "nas", "security", "eap"},
    "demo": {
        "errors",
        "files",
        "enrollment",
        "config",
        "pki",
        "nas",
        "security",
        "eap",
        "store",
        "core",
        "ue",
    },
    "cli": {
        "__init__",
        "aaa",
        "errors",
        "files",
        "enrollment",
        "pcap",
        "config",
        "pki",
        "nas",
        "security",
        "eap",
        "store",
        "core",
        "ue",
        "demo",
    },
    "__main__": {"cli"},
}
UI_MODULES = {"click", "rich"}


def _layer(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _imports(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            if node.module == "dynsub_cli":
                found += [(node.lineno, f"dynsub_cli.{a.name}") for a in node.names]
    return found


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_every_layer_is_known() -> None:
    unknown = {_layer(p) for p in SOURCES} - set(ALLOWED)
    assert not unknown, f"add these layers to ALLOWED in tests/test_layers.py: {unknown}"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path: Path) -> None:
    layer = _layer(path)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for line, module in _imports(tree):
        top = module.split(".")[0]
        if top in UI_MODULES and layer != "cli":
            problems.append(f"line {line}: {module} is for cli/ only")
        if top == "dynsub_cli" and "." in module:
            target = module.split(".")[1]
            if target.startswith("__") and target != "__main__":
                target = "__init__"  # a name defined in dynsub_cli/__init__.py
            if target != layer and target not in ALLOWED[layer]:
                problems.append(f"line {line}: {layer} may not import {module}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if _layer(p) not in {"cli", "__main__"}],
    ids=lambda p: str(p.relative_to(PACKAGE)),
)
def test_only_cli_prints_or_exits(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in {"print", "exit", "quit"}:
                problems.append(f"line {node.lineno}: {func.id}()")
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in {("sys", "exit"), ("os", "_exit")}
            ):
                problems.append(f"line {node.lineno}: {func.value.id}.{func.attr}()")
    assert not problems, "\n".join(problems)


def test_the_rules_catch_a_violation(tmp_path: Path) -> None:
    """The checker itself must be able to fail: a nas module importing click is flagged."""
    tree = ast.parse("import click\nfrom dynsub_cli.store import x\n")
    modules = [m for _, m in _imports(tree)]
    assert "click" in modules
    assert "dynsub_cli.store" in modules
    assert "store" not in ALLOWED["nas"]
