"""The file path an ``export_library`` writes: checked before anything is compiled or written.

Guarantees: the result is a str naming a file whose folder exists and that is not itself a
folder; anything else is an ArgumentError naming the path (not an OSError from deep inside
the linker or the JSON writer).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import ArgumentError


def export_file_path(path: Any, what: str = "export_library") -> str:
    """``path`` as a str, when it can name the file ``what`` writes."""
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentError(f"{what} needs a file path, got {path!r}")
    path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.isdir(path):
        raise ArgumentError(f"{what}: '{path}' is a folder; give the path of the file to write, such as "
                            f"'{os.path.join(path, 'lib.so')}'")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ArgumentError(f"{what}: the folder '{folder}' of '{path}' does not exist")
    return path
