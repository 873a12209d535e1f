"""Every public name of tensorlang's facades (packages, ``tir``, ``error``, the TVM-path modules)
still imports: refactoring a facade's re-exports must not lose a name users import.

``public_names.json`` lists, per facade, its ``__all__`` and its other public attributes (submodules,
names without an ``__all__``) as they stood when the facades' re-export lists were folded; a name may
be added, none removed.  Regenerate the file only to record a deliberate, announced removal.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import pytest

PINNED = json.loads((Path(__file__).parent / "public_names.json").read_text())


def _resolves(module, facade: str, name: str) -> bool:
    if hasattr(module, name):  # includes names a module __getattr__ resolves lazily (te.create_schedule)
        return True
    try:  # a submodule that another import order would already have loaded
        importlib.import_module(f"{facade}.{name}")
    except ImportError:
        return False
    return True


@pytest.mark.parametrize("facade", sorted(PINNED))
def test_every_pinned_public_name_still_imports(facade):
    module = importlib.import_module(facade)
    pinned = PINNED[facade]
    missing = [n for n in pinned["__all__"] + pinned["also"] if not _resolves(module, facade, n)]
    assert not missing, f"{facade} lost public names: {missing}"
    lost_from_all = sorted(set(pinned["__all__"]) - set(getattr(module, "__all__", [])))
    assert not lost_from_all, f"{facade}.__all__ (what `import *` gives) lost: {lost_from_all}"
    assert all(isinstance(n, str) for n in getattr(module, "__all__", [])), f"{facade}.__all__ holds a non-string"


def test_star_import_gives_every_name_of_all():
    # `from tensorlang.te import *` must bind every name of __all__, lazy ones included.
    for facade, pinned in PINNED.items():
        namespace: dict = {}
        exec(f"from {facade} import *", namespace)
        assert set(pinned["__all__"]) <= set(namespace), facade


def test_every_error_class_is_re_exported():
    # tensorlang and tensorlang.error re-export errors.__all__: a new error class must be listed there.
    import tensorlang
    from tensorlang import error, errors

    classes = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.TensorLangError)}
    assert classes == set(errors.__all__)
    assert classes <= set(tensorlang.__all__) and classes <= set(error.__all__)
