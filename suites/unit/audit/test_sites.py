"""``definition_sites``: qualified names of classes, attributes and module names -> file:line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from harness.audit import Site, definition_sites
from harness.errors import UsageError


def test_sites_of_classes_attributes_and_module_names(project: Path) -> None:
    (project / "pkg" / "mod.py").write_text(
        textwrap.dedent(
            """
            REGISTRY = {}


            class Factory:
                limit = 2

                def __init__(self):
                    self.engines = {}
                    self.engines = {"again": 1}

                def build(self):
                    return None
            """
        ),
        encoding="utf-8",
    )
    sites = definition_sites([project / "pkg"])
    assert {name: str(site) for name, site in sites.items() if name.startswith("pkg.mod")} == {
        "pkg.mod.REGISTRY": "pkg/mod.py:2",
        "pkg.mod.Factory": "pkg/mod.py:5",
        "pkg.mod.Factory.limit": "pkg/mod.py:6",
        "pkg.mod.Factory.__init__": "pkg/mod.py:8",
        "pkg.mod.Factory.engines": "pkg/mod.py:9",
        "pkg.mod.Factory.build": "pkg/mod.py:12",
    }
    assert sites["pkg.mod.Factory"] == Site("pkg/mod.py", 5)


def test_sites_skip_unparsable_files_and_reject_missing_paths(project: Path) -> None:
    (project / "pkg" / "broken.py").write_text("class (:\n", encoding="utf-8")
    assert not any(name.startswith("pkg.broken") for name in definition_sites([project / "pkg"]))
    with pytest.raises(UsageError, match="does not exist"):
        definition_sites([project / "missing"])


def test_sites_of_the_reference_backend_registry() -> None:
    backend = Path(__file__).parents[3] / "harness_backend"
    sites = definition_sites([backend])
    registry = sites["harness_backend.execution_registry.AgentExecutionRegistry"]
    line = (
        (backend / "execution_registry.py")
        .read_text(encoding="utf-8")
        .splitlines()[registry.line - 1]
    )
    assert registry.path == "harness_backend/execution_registry.py"
    assert line.startswith("class AgentExecutionRegistry")
