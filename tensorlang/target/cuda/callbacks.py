"""TVM's CUDA compile hooks, registered as global functions (``tvm.register_func``):
``tvm_callback_cuda_postproc(code[, target])`` returns the CUDA C to compile instead of the
generated one (a user's edits or dumps), and ``tvm_callback_cuda_compile(code[, target])``
compiles it instead of NVRTC, returning PTX text or cubin bytes.

Guarantees: a hook is called with the target when it takes two arguments, else with the code
alone (TVM's versions differ); a hook that returns the wrong kind of value is a BuildError
naming it; without hooks nothing changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ...errors import BuildError
from ..packed import lookup_raw
from ..target import Target

POSTPROC, COMPILE = "tvm_callback_cuda_postproc", "tvm_callback_cuda_compile"


def _takes_target(fn: Callable[..., Any]) -> bool:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return True
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params) >= 2


def _call(name: str, fn: Callable[..., Any], code: str, target: Any) -> Any:
    args = (code, Target(str(target))) if _takes_target(fn) else (code,)
    return fn(*args)


def postprocess(code: str, target: Any) -> str:
    """The CUDA C to compile: ``code``, or what a registered postproc hook made of it."""
    fn = lookup_raw(POSTPROC)
    if fn is None:
        return code
    out = _call(POSTPROC, fn, code, target)
    if not isinstance(out, str):
        raise BuildError(f"{POSTPROC} must return the CUDA source as a str, got {type(out).__name__}")
    return out


def user_compile(code: str, target: Any) -> tuple[str, bytes] | None:
    """("ptx", text) or ("cubin", bytes) from a registered compile hook; None without one."""
    fn = lookup_raw(COMPILE)
    if fn is None:
        return None
    out = _call(COMPILE, fn, code, target)
    if isinstance(out, (bytes, bytearray)):
        data = bytes(out)
        # PTX is text starting with a comment or directive; anything else is a cubin (ELF).
        if data[:1] in (b"/", b".") or data.lstrip()[:8] in (b"//", b".version"):
            return "ptx", data.decode()
        return "cubin", data
    if isinstance(out, str):
        return "ptx", out
    raise BuildError(f"{COMPILE} must return PTX (str) or a cubin (bytes), got {type(out).__name__}")
