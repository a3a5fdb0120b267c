"""The worked example of docs/targets.md runs as documented: clean, then caught when broken."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.kit._conformance import check_target
from harness.runner import run
from harness.scenarios import build, scenario_names

DOC = Path(__file__).resolve().parents[2] / "docs" / "targets.md"
SPEC = "shop_target:ShopTarget"
MODULES = ("shop_agents", "shop_target")


def _example_files() -> dict[str, str]:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Adapting a factory-pattern backend") :]
    files = dict(re.findall(r"```python\n# file: (\S+)\n(.*?)```", section, re.S))
    assert set(files) == {f"{name}.py" for name in MODULES}, "docs/targets.md lost a file"
    return files


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    for name, source in _example_files().items():
        (tmp_path / name).write_text(source)
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in MODULES:
            sys.modules.pop(name, None)


def test_the_documented_adapter_passes_check_target_and_every_scenario(module_dir: Path) -> None:
    assert [r.rule for r in check_target(SPEC) if not r.passed] == []
    for name in scenario_names():
        result = run(SPEC, build(name, 0, 6), strategy="random")
        assert result.findings == (), (name, [(f.kind, f.summary) for f in result.findings])
        assert result.trace.observed["walks"] > 0
        # The test put the extracted modules on sys.path: the command says where they are.
        assert result.replay.startswith(f"PYTHONPATH={module_dir} harness run --target {SPEC}")
        if name in ("limit_pressure", "tab_burst", "intrusion"):
            assert result.stats["statuses"].get("rejected", 0) > 0, name


def test_the_documented_bug_is_caught(module_dir: Path) -> None:
    source = (module_dir / "shop_agents.py").read_text()
    # The change the document describes: the registry's agents become one class-level dict.
    broken = source.replace(
        '    """Hands out the agents of one engine."""\n\n    def __init__(self):\n'
        "        self._agents = {}\n",
        '    """Hands out the agents of one engine."""\n\n'
        "    _agents = {}  # shared by every registry of every user\n",
    )
    assert broken != source
    (module_dir / "shop_agents.py").write_text(broken)
    result = run(SPEC, build("burst", 0, 6), strategy="random")
    kinds = {finding.kind for finding in result.findings}
    assert {"shared-state", "context-mismatch", "foreign-data"} <= kinds
    shared = next(f for f in result.findings if f.kind == "shared-state")
    assert any("AgentRegistry._agents" in line for line in shared.evidence)


def test_the_guide_stands_alone_and_lists_every_record_field() -> None:
    from dataclasses import fields

    from harness.model import CallTool, Event, Fail, Pause, SimUser, Think, Turn, TurnOutcome

    text = DOC.read_text(encoding="utf-8")
    assert "DESIGN.md" not in text
    for record in (SimUser, Turn, Event, TurnOutcome, Think, CallTool, Pause, Fail):
        for field in fields(record):
            assert f"`{field.name}`" in text, (record.__name__, field.name)
    for scenario in scenario_names():
        assert f"`{scenario}`" in text, scenario
