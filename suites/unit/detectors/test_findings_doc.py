from __future__ import annotations

import re
from pathlib import Path

from harness.model import FINDING_KINDS

DOC = Path(__file__).parents[3] / "docs" / "findings.md"


def test_every_finding_kind_has_a_section_reports_can_link_to() -> None:
    headings = re.findall(r"^## (\S+)$", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE)
    assert headings == list(FINDING_KINDS)
    text = DOC.read_text(encoding="utf-8")
    for kind in FINDING_KINDS:
        section = text.split(f"## {kind}\n", 1)[1].split("\n## ", 1)[0]
        for part in (
            "**Meaning.**",
            "**Typical causes.**",
            "**Reading the evidence.**",
            "**Fixing.**",
        ):
            assert part in section, (kind, part)
