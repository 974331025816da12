"""Lint, format and types are part of the test command, so CI runs them on every change."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "service", "tests", "migrations", "bench"],
        ["ruff", "format", "--check", "service", "tests", "migrations", "bench"],
        ["mypy", "--strict", "service"],
    ],
    ids=["ruff-check", "ruff-format", "mypy-strict"],
)
def test_clean(command: list[str]) -> None:
    done = subprocess.run([str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _service_modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted((ROOT / "service").rglob("*.py"))}


def _imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """The service modules a file imports, `from package import module` included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in modules else node.module)
    return found


def test_no_module_is_over_300_lines() -> None:
    long = {name: n for name, path in _service_modules().items() if (n := len(path.read_text().splitlines())) > 300}
    assert not long, long


def test_no_import_cycle_between_modules() -> None:
    modules = _service_modules()
    graph = {name: _imports(path, modules) - {name} for name, path in modules.items()}
    # A package's __init__ that re-exports its modules is not a cycle with them.
    cycles: list[list[str]] = []

    def visit(name: str, path: list[str], done: set[str]) -> None:
        for target in sorted(graph[name]):
            if target in path:
                cycles.append([*path[path.index(target) :], target])
            elif target not in done:
                visit(target, [*path, target], done)
        done.add(name)

    done: set[str] = set()
    for name in sorted(graph):
        if name not in done:
            visit(name, [name], done)
    assert not cycles, "\n".join(" -> ".join(cycle) for cycle in cycles[:10])
