"""TVM's ``autotvm.tophub``: the pre-tuned configs TVM downloads per target.  tensorlang ships
none and never downloads, so a tophub context holds only the logs given as ``extra_files``, and
templates outside them use their fallback configs, as TVM's do offline."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .dispatcher import ApplyHistoryBest


def context(target: Any, extra_files: str | os.PathLike | Sequence[str | os.PathLike] | None = None
            ) -> ApplyHistoryBest:
    """``with autotvm.tophub.context(target):`` the best configs of ``extra_files`` (none by
    default) apply to builds inside it."""
    files = [] if extra_files is None else [extra_files] if isinstance(extra_files, (str, os.PathLike)) \
        else list(extra_files)
    return ApplyHistoryBest(files)


def check_backend(tophub_location: Any, backend: str) -> bool:
    """Whether tophub configs for ``backend`` are at hand: never, here (nothing is downloaded)."""
    return False


__all__ = ["check_backend", "context"]
