"""Where the code of what a walk reports lives (harness/observe/_walk_sites.py)."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import pytest

from harness.model import SimUser
from harness.observe._walk_sites import attribute_site, class_site
from harness.observe.tokens import TokenIndex
from harness.observe.walk import Walker

pytestmark = pytest.mark.unit

HERE = "suites/unit/observe/test_walk_sites.py"


class Tracker:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.owner = "nobody"  # assigned here


@dataclasses.dataclass
class Settings:
    label: str = "x"


class Subclass(Tracker):
    pass


def _line_of(text: str) -> int:
    lines = Path(__file__).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


def test_an_attribute_names_its_class_and_the_line_that_assigns_it() -> None:
    class_line = inspect.getsourcelines(Tracker)[1]
    assert attribute_site(Tracker, "owner") == (
        f"{__name__}.Tracker ({HERE}:{class_line}), "
        f".owner set at {HERE}:{_line_of('self.owner = ')}"
    )
    # Found in a base class's body; a dataclass field is declared in the class body.
    assert attribute_site(Subclass, "rows").endswith(
        f".rows set at {HERE}:{_line_of('self.rows:')}"
    )
    assert attribute_site(Settings, "label").endswith(
        f".label set at {HERE}:{_line_of('label: str')}"
    )
    # An attribute set from outside the class: the class alone.
    assert attribute_site(Tracker, "elsewhere") == f"{__name__}.Tracker ({HERE}:{class_line})"
    assert attribute_site(dict, "x") == ""
    assert class_site("no-such-type-name") == ""


def test_a_walk_records_the_site_of_the_attribute_holding_another_users_token() -> None:
    users = [
        SimUser(
            user_id=f"usr_{c * 12}",
            thread_ids=(f"thread_{c * 12}",),
            email=f"{c}@example.org",
            display_name=c,
            canaries=(f"cnry_{c * 16}",),
        )
        for c in "ab"
    ]
    tracker = Tracker()
    tracker.owner = "cnry_" + "b" * 16
    result = Walker(TokenIndex.build(users)).walk({"tracker": tracker}, owner="usr_" + "a" * 12)
    (found,) = result.values
    assert found.path == "tracker.owner"
    assert found.site == attribute_site(Tracker, "owner")
    assert found.site.endswith(f"{HERE}:{_line_of('self.owner = ')}")
