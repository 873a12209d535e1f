"""Linking with the system C compiler (TVM's ``tvm.contrib.cc``): object files from
``Module.save("x.o")`` become a shared library that ``runtime.load_module`` loads."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence

from ..errors import BuildError
from ..target.llvm.runtime import seal_library


def _compiler(cc: str | None) -> list[str]:
    words = shlex.split(cc or os.environ.get("CC", "cc")) or ["cc"]
    if shutil.which(words[0]) is None:
        raise BuildError(f"no C compiler '{words[0]}' on PATH (install cc/gcc/clang, or set CC)")
    return words


def _run(cmd: list[str], output: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"building {output} failed ({' '.join(cmd)}):\n{proc.stderr.strip()}")


def _as_list(objects: str | Sequence[str]) -> list[str]:
    return [objects] if isinstance(objects, (str, os.PathLike)) else [os.fspath(o) for o in objects]


def create_shared(output: str, objects: str | Sequence[str], options: Sequence[str] | None = None,
                  cc: str | None = None, cwd: str | None = None, ccache_env: dict | None = None) -> None:
    """Link ``objects`` (object files or C sources) into the shared library ``output``, sealed
    with the checksum trailer that ``runtime.load_module`` checks before mapping a library."""
    cmd = [*_compiler(cc), "-shared", "-fPIC", "-o", os.fspath(output), *_as_list(objects), *(options or []),
           "-lm", "-lpthread"]
    _run(cmd, os.fspath(output))
    seal_library(os.fspath(output))


def create_executable(output: str, objects: str | Sequence[str], options: Sequence[str] | None = None,
                      cc: str | None = None) -> None:
    """Link ``objects`` into an executable ``output``."""
    cmd = [*_compiler(cc), "-o", os.fspath(output), *_as_list(objects), *(options or []), "-lm", "-lpthread"]
    _run(cmd, os.fspath(output))


def get_cc() -> str | None:
    """The compiler ``create_shared`` uses, or None when there is none."""
    words = shlex.split(os.environ.get("CC", "cc")) or ["cc"]
    return shutil.which(words[0])


create_shared.output_format = "so"  # type: ignore[attr-defined]
