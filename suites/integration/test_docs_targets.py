"""The worked example of docs/targets.md runs as documented: clean, then caught when broken."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.runner import run
from harness.scenarios import build

DOC = Path(__file__).resolve().parents[2] / "docs" / "targets.md"


def _example_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## A worked example") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "docs/targets.md lost its worked example"
    return match.group(1)


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in ("tiny_target", "tiny_target_broken"):
            sys.modules.pop(name, None)


def test_the_documented_adapter_is_clean(module_dir: Path) -> None:
    (module_dir / "tiny_target.py").write_text(_example_source())
    for name in ("golden_path", "multi_tab", "tool_failure"):
        result = run("tiny_target:TinyTarget", build(name, 0, 8), strategy="random")
        assert result.findings == (), (name, result.findings)
        assert result.trace.observed["walks"] > 0
        assert result.replay.startswith("harness run --target tiny_target:TinyTarget")


def test_the_documented_bug_is_caught(module_dir: Path) -> None:
    source = _example_source()
    # The change the document describes: the run log becomes one class-level dict.
    broken = source.replace(
        '    """Per-user engine: its own run log, bound to one user."""\n',
        '    """Per-user engine: its own run log, bound to one user."""\n\n    runs = {}\n',
    ).replace("        self.runs = {}\n", "")
    assert broken != source
    (module_dir / "tiny_target_broken.py").write_text(broken)
    result = run("tiny_target_broken:TinyTarget", build("burst", 0, 6), strategy="random")
    kinds = {finding.kind for finding in result.findings}
    assert {"shared-state", "foreign-data"} <= kinds
    shared = next(f for f in result.findings if f.kind == "shared-state")
    assert any("Engine.runs" in line for line in shared.evidence)
