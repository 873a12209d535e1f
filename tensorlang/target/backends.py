"""The backend table: target kind -> the package that compiles for it, imported on first use.

Every backend package exposes the same entry points: ``parse_target(text)`` (its own target
object from a target string), ``build_func(func, target, jit=True)`` (a callable module from a
lowered PrimFunc), ``load_module(path)`` (a module written by its ``export_library``),
``EXPORT_MAGIC`` (the leading bytes of those files) and ``BINDS_THREADS`` (whether schedules may
bind loops to GPU threads). Adding a backend is a package and one line here.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from ..errors import BuildError, TargetError
from .source_module import SourceModule

BACKENDS: dict[str, str] = {
    "llvm": "tensorlang.target.llvm",
    "cuda": "tensorlang.target.cuda",
}


def get_backend(kind: str) -> ModuleType:
    """The backend package for target kind ``kind`` ("llvm", "cuda")."""
    try:
        return importlib.import_module(BACKENDS[kind])
    except KeyError:
        raise TargetError(f"unknown target '{kind}' (known: {', '.join(BACKENDS)})") from None


# Device code a GPU module's ``save`` writes, by file extension -> source format.
_DEVICE_SOURCES = {"ptx": "ptx", "cu": "cuda"}


def load_module(path: str | os.PathLike) -> object:
    """Load a module written by any backend's ``export_library``: the backend whose
    ``EXPORT_MAGIC`` starts the file reads it (no compiler needed)."""
    if not isinstance(path, (str, os.PathLike)):
        raise BuildError(f"load_module needs a file path, got {path!r}")
    try:
        with open(os.fspath(path), "rb") as f:
            head = f.read(64)
    except OSError as exc:
        raise BuildError(f"cannot load {path}: {exc}") from None
    for kind in BACKENDS:
        backend = get_backend(kind)
        if head.startswith(backend.EXPORT_MAGIC):
            return backend.load_module(path)
    ext = os.path.splitext(os.fspath(path))[1].lstrip(".")
    if ext in _DEVICE_SOURCES:  # a GPU module's saved device code, for Module.import_module
        with open(os.fspath(path), encoding="utf-8") as f:
            return SourceModule("cuda", {_DEVICE_SOURCES[ext]: f.read()})
    raise BuildError(f"{path} was not written by tensorlang's export_library (not a file any backend "
                     f"reads: {', '.join(BACKENDS)})")
