"""``harness.audit`` re-exports exactly its public names."""

from __future__ import annotations

import types

import harness.audit


def test_all_is_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(harness.audit).items()
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(value, types.ModuleType)
    }
    assert len(set(harness.audit.__all__)) == len(harness.audit.__all__)
    assert set(harness.audit.__all__) == public
