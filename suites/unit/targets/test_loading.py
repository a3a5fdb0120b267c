"""Loading targets from specs, and the errors that name what was tried."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.errors import TargetLoadError
from harness.targets import describe, event_from_message, load_target
from harness.targets.reference import ReferenceTarget


class _Minimal:
    name = "minimal"

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def open_session(self, user: object) -> object: ...

    def shared_roots(self) -> dict[str, object]:
        return {}


@pytest.fixture
def adapters() -> Iterator[types.ModuleType]:
    module = types.ModuleType("my_adapters")
    module.Minimal = _Minimal  # type: ignore[attr-defined]
    module.instance = _Minimal()  # type: ignore[attr-defined]
    module.factory = lambda: _Minimal()  # type: ignore[attr-defined]
    module.not_a_target = 42  # type: ignore[attr-defined]
    module.needs_args = lambda url: _Minimal()  # type: ignore[attr-defined]
    sys.modules["my_adapters"] = module
    yield module
    del sys.modules["my_adapters"]


def test_reference_and_empty_spec_load_the_embedded_backend() -> None:
    assert isinstance(load_target("reference"), ReferenceTarget)
    assert isinstance(load_target(""), ReferenceTarget)
    assert load_target("reference", fault="no-cleanup").name == "reference[no-cleanup]"


@pytest.mark.parametrize("attr", ["Minimal", "instance", "factory"])
def test_module_attr_accepts_a_class_an_instance_or_a_factory(
    adapters: types.ModuleType, attr: str
) -> None:
    target = load_target(f"my_adapters:{attr}")
    assert target.name == "minimal"
    info = describe(target)
    assert info.capabilities == {"scripted_plan", "tools", "live_roots"}
    assert info.limits == {}
    assert info.deterministic is True


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_adapters:Minimul", "Did you mean 'Minimal'?"),
        ("my_adapters:not_a_target", "is not a Target: it lacks start, stop"),
        ("my_adapters:needs_args", "zero-argument factory"),
        ("no_such_module_here:X", "could not import module 'no_such_module_here'"),
        ("ftp://host", "URL scheme"),
        ("reference-ish", "module:attr"),
    ],
)
def test_bad_specs_name_what_was_tried(adapters: types.ModuleType, spec: str, message: str) -> None:
    with pytest.raises(TargetLoadError) as info:
        load_target(spec)
    assert message in str(info.value)
    assert repr(spec) in str(info.value) or spec.split(":")[0] in str(info.value)


def test_a_fault_needs_the_reference_target(adapters: types.ModuleType) -> None:
    with pytest.raises(TargetLoadError, match="reference backend only"):
        load_target("my_adapters:Minimal", fault="no-cleanup")


def test_an_unknown_fault_lists_the_known_ones() -> None:
    with pytest.raises(TargetLoadError) as info:
        load_target("reference", fault="shared-engines")
    assert "Did you mean 'shared-engine'?" in str(info.value)
    assert "register-race" in str(info.value)


def test_an_event_from_a_message_keeps_what_the_target_sent() -> None:
    message = {
        "type": "tool_completed",
        "run_id": "run_000000000001",
        "user_id": "usr_000000000002",  # another user's: kept, so misrouting shows
        "payload": {"name": "echo"},
    }
    event = event_from_message(message, seq=4, connection_id="c1", t=1.5)
    assert (event.type, event.run_id, event.user_id, event.thread_id) == (
        "tool_completed",
        "run_000000000001",
        "usr_000000000002",
        None,  # absent in the message: never filled in from the connection
    )
    assert (event.payload, event.seq, event.connection_id, event.t) == (
        {"name": "echo"},
        4,
        "c1",
        1.5,
    )
    assert event_from_message({"type": "agent_started", "payload": [1]}, seq=0).payload == {}


def test_an_adapter_in_the_current_directory_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `harness` is a console script: the directory it runs from is not on sys.path by itself.
    (tmp_path / "local_adapter.py").write_text(
        "from harness.targets.reference import ReferenceTarget\nTARGET = ReferenceTarget()\n"
    )
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "local_adapter", raising=False)
    monkeypatch.chdir(tmp_path)
    target = load_target("local_adapter:TARGET")
    assert isinstance(target, ReferenceTarget)
    assert sys.path[0] == str(tmp_path)
