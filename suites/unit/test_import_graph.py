"""The installed packages' import graph: no cycles, no reaching into another package's privates.

Read statically (``ast``) from the installed files, so every import counts, including the ones
made inside functions to keep start-up cheap; only ``if TYPE_CHECKING:`` blocks (they never
run) and ``if __name__ == "__main__":`` blocks (they run only as a script) are left out.
``import harness.model`` (the leaf record module) must load no runner, observer, walker or
detector: checked in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import harness
import harness_backend

ROOTS = {
    "harness": Path(harness.__file__).parent,
    "harness_backend": Path(harness_backend.__file__).parent,
}


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for top, root in ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((top, *parts))] = path
    return found


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _package_of(name: str) -> str:
    return name if _is_package(name) else name.rpartition(".")[0]


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        test = ast.unparse(node.test)
        if "TYPE_CHECKING" in test or test == "__name__ == '__main__'":
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def _imports(name: str) -> Iterator[tuple[str, str | None]]:
    """(imported module, imported name or None) for every import that runs."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    skip = _type_checking_lines(tree)
    package = _package_of(name)
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                yield base, alias.name


def _edges(name: str) -> set[str]:
    targets: set[str] = set()
    for module, imported in _imports(name):
        if imported is not None and f"{module}.{imported}" in MODULES:
            targets.add(f"{module}.{imported}")
        elif module in MODULES:
            targets.add(module)
    targets.discard(name)
    return targets


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_the_scan_sees_the_packages() -> None:
    assert "harness.runner._driver" in MODULES and "harness_backend.server" in MODULES
    assert {"harness.observe", "harness.runner._recorder"} <= _edges("harness.runner._driver")
    # A lazy import inside a function counts: the loader imports the reference adapter so.
    assert "harness.targets.reference" in _edges("harness.targets._loading")


def test_no_import_cycles() -> None:
    assert _cycles({name: _edges(name) for name in MODULES}) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_package_imports_another_packages_private_names() -> None:
    offences = []
    for name in MODULES:
        home = _package_of(name)
        for module, imported in _imports(name):
            if not module.startswith(("harness.", "harness_backend.")) and module not in ROOTS:
                continue
            owner = _package_of(module) if module in MODULES else module
            if owner == home or (module in MODULES and _is_package(module) and module == home):
                continue
            private_module = any(part.startswith("_") for part in module.split(".")[1:])
            private_name = imported is not None and imported.startswith("_")
            if (private_module and owner != home) or (private_name and imported != "__version__"):
                offences.append(f"{name} imports {module}:{imported}")
    assert offences == []


def test_the_reference_backend_never_imports_the_harness() -> None:
    for name in MODULES:
        if name.startswith("harness_backend"):
            imported = {module for module, _ in _imports(name)}
            assert not {m for m in imported if m == "harness" or m.startswith("harness.")}, name


def _printed_by(code: str) -> str:
    """What ``python -c code`` prints, in a fresh interpreter (nothing imported before)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def test_importing_the_record_module_loads_no_runner_walker_or_detector() -> None:
    loaded = set(
        eval(
            _printed_by(
                "import sys, harness.model\n"
                "print(sorted(m for m in sys.modules if m.startswith('harness')))"
            )
        )
    )
    assert loaded <= {"harness", "harness.model", "harness.errors"}, loaded


def test_the_pytest_plugin_loads_no_hypothesis_faker_jinja_or_rich() -> None:
    # pytest loads the plugin in every test session of every project that installs the
    # harness: what only a run, a report or a Hypothesis schedule needs waits until asked for.
    printed = _printed_by(
        "import sys, harness.pytest_plugin\n"
        "print(sorted(m for m in ('hypothesis', 'faker', 'jinja2', 'rich') if m in sys.modules))"
    )
    assert eval(printed) == [], printed
    # ... and the names stay where they were.
    printed = _printed_by("from harness.scheduling import HypothesisStrategy, schedules; print(1)")
    assert printed == "1"
