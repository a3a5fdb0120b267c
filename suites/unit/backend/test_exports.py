from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import harness_backend

BACKEND = Path(harness_backend.__file__).parent
CORE_MODULES = (
    "agents",
    "clock",
    "connections",
    "context",
    "emitter",
    "engine",
    "errors",
    "execution_registry",
    "factory",
    "faults",
    "tools",
)


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(harness_backend) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(harness_backend, name)).__name__ == "module"}
    assert set(harness_backend.__all__) == public - modules
    assert len(harness_backend.__all__) == len(set(harness_backend.__all__))


def test_every_error_derives_from_backend_error() -> None:
    for name in harness_backend.__all__:
        value = getattr(harness_backend, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, harness_backend.BackendError), name


def test_records_are_frozen_and_slotted() -> None:
    for name in harness_backend.__all__:
        value = getattr(harness_backend, name)
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            assert value.__dataclass_params__.frozen, name  # type: ignore[attr-defined]
            assert "__slots__" in value.__dict__, name


def test_core_modules_never_import_harness_nor_use_wall_clock_or_uuid() -> None:
    for module in CORE_MODULES:
        tree = ast.parse((BACKEND / f"{module}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for imported in names:
                root = imported.split(".")[0]
                assert root not in {"harness", "uuid", "time", "random"}, (module, imported)
