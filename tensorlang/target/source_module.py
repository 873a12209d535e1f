"""Device code carried by a host module, as TVM's ``Module.imported_modules`` shows it."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..errors import TargetError


class SourceModule:
    """The device side of a build (``type_key`` "cuda"): its sources by format, for reading and saving."""

    def __init__(self, type_key: str, sources: Mapping[str, str]):
        self.type_key = type_key
        self._sources = dict(sources)

    def get_source(self, fmt: str = "") -> str:
        """The source in ``fmt`` ("cuda"/"cu", "ptx"; default: the first one)."""
        key = {"cu": "cuda", "": next(iter(self._sources), "")}.get(fmt, fmt)
        if key not in self._sources:
            raise TargetError(f"the {self.type_key} module has no '{fmt}' source (has: {', '.join(self._sources)})")
        return self._sources[key]

    @property
    def imported_modules(self) -> list[SourceModule]:
        return []

    def save(self, path: str | os.PathLike, fmt: str = "") -> None:
        """Write the source named by ``fmt`` (or by the file's extension) to ``path``."""
        ext = os.path.splitext(os.fspath(path))[1].lstrip(".")
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.get_source(fmt or ext))

    def __repr__(self) -> str:
        return f"<tensorlang.SourceModule {self.type_key}: {', '.join(self._sources)}>"
