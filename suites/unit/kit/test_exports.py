"""``harness.kit`` lists exactly its public names in ``__all__``, each documented."""

from __future__ import annotations

import inspect
import types

import harness.kit


def _public(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(value, types.ModuleType)
    }


def test_all_is_exactly_the_public_names() -> None:
    assert len(set(harness.kit.__all__)) == len(harness.kit.__all__), "duplicates in __all__"
    assert set(harness.kit.__all__) == _public(harness.kit)


def test_every_public_class_and_function_has_a_docstring_with_an_example() -> None:
    for name in harness.kit.__all__:
        value = getattr(harness.kit, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            doc = inspect.getdoc(value) or ""
            if inspect.isclass(value) and issubclass(value, Exception):
                assert doc, name
                continue
            if getattr(value, "_is_protocol", False):
                assert doc, name
                continue
            assert "Example:" in doc, name
