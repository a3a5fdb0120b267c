from __future__ import annotations

import dataclasses

import pytest

from harness import model


def test_every_record_is_frozen_and_slotted() -> None:
    records = [
        getattr(model, name)
        for name in model.__all__
        if dataclasses.is_dataclass(getattr(model, name))
    ]
    assert len(records) >= 15
    for record in records:
        params = record.__dataclass_params__
        assert params.frozen, record
        assert "__slots__" in record.__dict__, record


def test_records_change_through_replace() -> None:
    outcome = model.TurnOutcome(run_id="run_0123456789ab", status="completed")
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.status = "error"  # type: ignore[misc]
    assert dataclasses.replace(outcome, status="error").status == "error"
