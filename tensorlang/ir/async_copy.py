"""Asynchronous global-to-shared copies (``cp.async`` on sm_80 and later).

``cp_async(dst, src)`` copies the element(s) that ``src`` (a Load) reads to where ``dst`` (a
Load of the shared buffer, naming its address) points, without waiting; ``commit()`` closes a
group of such copies and ``wait()`` waits until every committed group has landed (the copies
are then visible to this thread; a barrier makes them visible to the block).  Targets without
asynchronous copies run ``cp_async`` as a plain copy and the other two as nothing.
"""

from __future__ import annotations

from ..te.expr import Call, Load
from .stmt import Evaluate, Store

CP_ASYNC = "tl.cp_async"
CP_ASYNC_COMMIT = "tl.cp_async_commit"
CP_ASYNC_WAIT = "tl.cp_async_wait"
ASYNC_CALLS = (CP_ASYNC, CP_ASYNC_COMMIT, CP_ASYNC_WAIT)


def cp_async(dst: Load, src: Load) -> Evaluate:
    return Evaluate(Call("int32", CP_ASYNC, (dst, src)))


def commit() -> Evaluate:
    return Evaluate(Call("int32", CP_ASYNC_COMMIT, ()))


def wait() -> Evaluate:
    return Evaluate(Call("int32", CP_ASYNC_WAIT, ()))


def async_call(s: object) -> str:
    """The name of the async-copy intrinsic statement ``s`` is, else ""."""
    if isinstance(s, Evaluate) and isinstance(s.value, Call) and s.value.name in ASYNC_CALLS:
        return s.value.name
    return ""


def as_plain_copy(s: Evaluate) -> Store:
    """A ``cp_async`` statement as the synchronous store it stands for."""
    dst, src = s.value.args  # type: ignore[attr-defined]
    return Store(dst.buffer, src, dst.index)
