"""``Target``: which backend code is generated for, usable as a context manager.

``with tl.target.Target("llvm"): tl.build(s, args)`` builds for that target; the current
target lives in a ``contextvars`` value that ``__enter__`` sets and ``__exit__`` resets.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from ..errors import TargetError
from .backends import BACKENDS, get_backend

KINDS = tuple(BACKENDS)

_current: ContextVar[Target | None] = ContextVar("tensorlang_target", default=None)


class _Kind:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Target:
    """A target string such as ``"llvm"``, ``"llvm -mcpu=skylake-avx512"`` or ``"cuda -arch=sm_90"``."""

    def __init__(self, target: str | Target, host: Any = None):
        if isinstance(target, Target):
            target = str(target)
        if not isinstance(target, str) or not target.split():
            raise TargetError(f"a target must be a string such as 'llvm' or 'cuda', got {target!r}")
        kind = target.split()[0]
        if kind not in KINDS:
            raise TargetError(f"unknown target '{kind}' (known: {', '.join(KINDS)})")
        self.text = " ".join(target.split())
        self.kind = _Kind(kind)
        self.host = host
        self._tokens: list[Any] = []

    @property
    def options(self) -> list[str]:
        return self.text.split()[1:]

    @property
    def attrs(self) -> dict[str, str]:
        """The ``-key=value`` options, by key (TVM's ``target.attrs``)."""
        out = {}
        for opt in self.options:
            key, _, value = opt.lstrip("-").partition("=")
            out[key] = value if value else "1"
        return out

    # TVM's target attributes that schedules read (``Target.current().max_num_threads``).
    def _device(self) -> Any:
        if self.kind.name != "cuda":
            raise AttributeError(f"target '{self.text}' is not a GPU target: it has no thread limits")
        return get_backend("cuda").parse_target(self.text)

    @property
    def max_num_threads(self) -> int:
        """Threads a GPU block may hold (``-max_num_threads``, default 1024)."""
        return self._device().max_threads_per_block

    @property
    def max_threads_per_block(self) -> int:
        return self._device().max_threads_per_block

    @property
    def thread_warp_size(self) -> int:
        """Threads of a warp on a GPU target (1 on a CPU, as in TVM)."""
        return self._device().warp_size if self.kind.name == "cuda" else 1

    @property
    def max_shared_memory_per_block(self) -> int:
        return self._device().max_shared_memory_per_block

    @property
    def registers_per_block(self) -> int:
        return self._device().registers_per_block

    @property
    def arch(self) -> str:
        """The GPU architecture (``sm_90``)."""
        return self._device().arch

    @property
    def mcpu(self) -> str:
        """The ``-mcpu`` option ("" when the host's CPU is meant)."""
        return self.attrs.get("mcpu", "")

    @property
    def mattr(self) -> list[str]:
        """The ``-mattr`` features, one a string."""
        value = self.attrs.get("mattr", "")
        return [f for f in value.split(",") if f]

    @property
    def model(self) -> str:
        return self.attrs.get("model", "unknown")

    @property
    def libs(self) -> list[str]:
        return [lib for lib in self.attrs.get("libs", "").split(",") if lib]

    @property
    def keys(self) -> list[str]:
        """TVM's target keys: the ``-device`` option first, then the kind's ("cpu"; "cuda", "gpu")."""
        device = self.attrs.get("device")
        base = ["cpu"] if self.kind.name == "llvm" else [self.kind.name, "gpu"]
        return ([device] if device else []) + base

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Target('{self.text}')"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Target) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __enter__(self) -> Target:
        self._tokens.append(_current.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.reset(self._tokens.pop())

    @staticmethod
    def current(allow_none: bool = True) -> Target | None:
        """The innermost target of the enclosing ``with Target(...)`` blocks, if any."""
        cur = _current.get()
        if cur is None and not allow_none:
            raise TargetError("no target is set: pass target= or use 'with tl.target.Target(...)'")
        return cur


def option_words(text: str, kind: str, what: str) -> list[tuple[str, str, bool, str]]:
    """(word, key, has "=", value) for each option word of the target string ``text``, once its
    first word is checked to be ``kind`` (``what`` names the kind in the error: "an LLVM")."""
    words = text.split()
    if not words or words[0] != kind:
        raise TargetError(f"not {what} target string: '{text}' (expected '{kind} [options]')")
    return [(word, *_key_value(word)) for word in words[1:]]


def _key_value(word: str) -> tuple[str, bool, str]:
    key, eq, value = word.partition("=")
    return key, bool(eq), value


def unknown_option(word: str, text: str, known: tuple[str, ...]) -> TargetError:
    """The error for an option word a backend's target parser does not understand."""
    return TargetError(f"unknown option '{word}' in target '{text}'; known options: {', '.join(known)}")


def as_target(target: str | Target | None) -> Target:
    """The given target, else the current one, else ``llvm``."""
    if target is None:
        return Target.current() or Target("llvm")
    return target if isinstance(target, Target) else Target(target)


def cuda(model: str = "unknown", arch: str | None = None, options: str | list[str] | None = None) -> Target:
    """TVM's ``tvm.target.cuda()``: a CUDA target, with ``-arch=sm_XX`` when ``arch`` is given."""
    parts = ["cuda"]
    if model and model != "unknown":
        parts.append(f"-model={model}")
    if arch:
        parts.append(f"-arch={arch}")
    if options:
        parts.extend([options] if isinstance(options, str) else list(options))
    return Target(" ".join(parts))


def create(target: str | Target) -> Target:
    """TVM's older ``tvm.target.create(str)``: the same as ``Target(str)``."""
    return Target(target)
