"""Temporary folders for build artifacts (TVM's ``tvm.contrib.utils.tempdir``)."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any


class TempDirectory:
    """A folder removed when the object is closed, leaves a ``with`` block or is collected
    (unless ``keep_for_debug``)."""

    def __init__(self, custom_path: str | None = None, keep_for_debug: bool = False):
        if custom_path:
            os.makedirs(custom_path, exist_ok=True)
            self.temp_dir = os.path.abspath(custom_path)
            self._owned = False
        else:
            self.temp_dir = tempfile.mkdtemp(prefix="tensorlang-")
            self._owned = True
        self.keep_for_debug = keep_for_debug

    def relpath(self, name: str) -> str:
        """The path of ``name`` inside the folder."""
        return os.path.join(self.temp_dir, name)

    def listdir(self) -> list[str]:
        """The names in the folder."""
        return os.listdir(self.temp_dir)

    def remove(self) -> None:
        """Delete the folder (a custom path given by the caller is kept)."""
        if self._owned and not self.keep_for_debug and os.path.isdir(self.temp_dir):
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> TempDirectory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __del__(self) -> None:
        try:
            self.remove()
        except Exception:  # noqa: BLE001 - interpreter shutdown may have torn down modules
            pass

    def __repr__(self) -> str:
        return f"TempDirectory({self.temp_dir!r})"


def tempdir(custom_path: str | None = None, keep_for_debug: bool = False) -> TempDirectory:
    """A new temporary folder: ``temp = tempdir(); temp.relpath("f.so")``."""
    return TempDirectory(custom_path, keep_for_debug)
