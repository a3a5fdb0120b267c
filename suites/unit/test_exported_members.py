"""Every public package lists exactly its public names in ``__all__``."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

#: Packages whose ``__init__`` only re-exports: ``__all__`` must be exactly their public names.
REEXPORTING = [
    "harness",
    "harness.scheduling",
    "harness.reporting",
    "harness.targets",
    "harness.observe",
    "harness.runner",
    "harness_backend",
    "harness.scenarios",
    "harness.bench",
]
#: Modules with code of their own: every name in ``__all__`` must exist, without duplicates.
DEFINING = [
    "harness.detectors",
    "harness.model",
    "harness.errors",
    "harness.contract",
]


def _public(module: types.ModuleType) -> set[str]:
    # dir(), not vars(): a package that re-exports lazily (PEP 562) lists its names there.
    return {
        name
        for name in dir(module)
        if not name.startswith("_")
        and name != "annotations"  # from __future__ import annotations
        and not isinstance(getattr(module, name), types.ModuleType)
    }


@pytest.mark.parametrize("name", REEXPORTING)
def test_all_is_exactly_the_public_names(name: str) -> None:
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__), "duplicates in __all__"
    assert set(module.__all__) == _public(module)


@pytest.mark.parametrize("name", DEFINING)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert len(set(module.__all__)) == len(module.__all__), "duplicates in __all__"
    assert set(module.__all__) <= _public(module), set(module.__all__) - _public(module)


def test_importing_harness_starts_and_prints_nothing() -> None:
    code = (
        "import asyncio, sys, threading; import harness;"
        "assert threading.active_count() == 1;"
        "assert asyncio.get_event_loop_policy().__class__.__module__.startswith('asyncio')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert done.stderr == ""
