"""Every property test runs without a per-example deadline: the profile
``conftest.py`` loads, and each test's own ``@settings`` inheriting it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

_TESTS = Path(__file__).resolve().parent


def _test_modules() -> Iterator[ModuleType]:
    """Each test module of this folder and its subfolders, imported."""
    for info in pkgutil.walk_packages([str(_TESTS)], prefix=f"{__package__}."):
        if info.name.rsplit(".", 1)[-1].startswith("test_"):
            yield importlib.import_module(info.name)


def _property_tests(module: ModuleType) -> Iterator[tuple[str, Any]]:
    """``(name, function)`` for each Hypothesis test of *module*, methods included."""
    for name, value in vars(module).items():
        candidates = [(name, value)]
        if inspect.isclass(value) and value.__module__ == module.__name__:
            candidates = [(f"{name}.{attr}", member) for attr, member in vars(value).items()]
        for qualified, member in candidates:
            if inspect.isfunction(member) and hasattr(member, "hypothesis"):
                yield f"{module.__name__}.{qualified}", member


def test_the_loaded_profile_has_no_deadline() -> None:
    assert settings().deadline is None


def test_every_property_test_of_the_suite_runs_without_a_deadline() -> None:
    found = dict(item for module in _test_modules() for item in _property_tests(module))
    # The suite has property tests in its subfolders too: the walk reached them.
    assert any(".speculation." in name for name in found), sorted(found)
    assert f"{__name__}.test_a_property_test_here_inherits_the_profile" in found
    with_deadline = {
        name: test._hypothesis_internal_use_settings.deadline
        for name, test in found.items()
        if test._hypothesis_internal_use_settings.deadline is not None
    }
    assert with_deadline == {}


@settings(max_examples=5)
@given(st.integers())
def test_a_property_test_here_inherits_the_profile(number: int) -> None:
    assert settings().deadline is None
    assert isinstance(number, int)
