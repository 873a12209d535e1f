"""TVM's pytest plugin, as a TVM test suite loads it (``pytest_plugins = ["tvm.testing.plugin"]`` in
its conftest.py, here ``"tensorlang.testing.plugin"``): a test that takes ``target`` (and ``dev``)
without ``@tvm.testing.parametrize_targets`` runs once per target usable here
(``tvm.testing.enabled_targets()``), as TVM's plugin runs it on each enabled target; without the
kinds ``@tvm.testing.exclude_targets`` names, and xfail on those ``known_failing_targets`` names."""

from __future__ import annotations

from typing import Any

import pytest

from . import enabled_targets, target_params


def _given(metafunc: Any, name: str) -> bool:
    """Whether ``name`` already gets its values: a parametrize mark or a fixture of that name."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", ())
        names = [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)
        if name in names:
            return True
    if any(name in call.params for call in getattr(metafunc, "_calls", ())):
        return True  # already parametrized (the plugin loaded twice: a conftest and a test module)
    fixtures = getattr(metafunc, "_arg2fixturedefs", {})
    return name in fixtures


def pytest_generate_tests(metafunc: Any) -> None:
    if "target" not in metafunc.fixturenames or _given(metafunc, "target"):
        return
    pairs = enabled_targets()
    if "dev" in metafunc.fixturenames and not _given(metafunc, "dev"):
        params = target_params(metafunc.function, [pytest.param(t, d, id=str(t)) for t, d in pairs], single=False)
        metafunc.parametrize("target,dev", params)
    else:
        params = target_params(metafunc.function, [pytest.param(t, id=str(t)) for t, _ in pairs], single=True)
        metafunc.parametrize("target", params)
