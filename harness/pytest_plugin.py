"""pytest plugin of the isolation harness (entry point ``pytest11: harness``)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("harness", "isolation harness")
    group.addoption(
        "--harness-target",
        default="reference",
        help="target to test: 'reference', ws://host:port/path or module:attr",
    )
