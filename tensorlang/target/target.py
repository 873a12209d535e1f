"""``Target``: which backend code is generated for, usable as a context manager.

``with tl.target.Target("llvm"): tl.build(s, args)`` builds for that target; the current
target lives in a ``contextvars`` value that ``__enter__`` sets and ``__exit__`` resets.
"""

from __future__ import annotations

import json
import sys
import warnings
from contextvars import ContextVar
from functools import cache, wraps
from typing import Any

from ..errors import TargetError
from .backends import BACKENDS, get_backend
from .tags import TAGS

KINDS = tuple(BACKENDS)

_current: ContextVar[Target | None] = ContextVar("tensorlang_target", default=None)


class _Kind:
    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return self.name


class Target:
    """A target string such as ``"llvm"``, ``"llvm -mcpu=skylake-avx512"`` or ``"cuda -arch=sm_90"``."""

    def __init__(self, target: str | Target | dict, host: Any = None):
        if isinstance(target, Target):
            host = host if host is not None else target.host
            target = str(target)
        if isinstance(target, str) and target.lstrip().startswith("{"):  # TVM's JSON form of the dict
            try:
                target = json.loads(target)
            except json.JSONDecodeError as exc:
                raise TargetError(f"target {target!r} starts like JSON but does not parse: {exc}") from None
        if isinstance(target, dict):  # TVM's Target({"kind": "llvm", "mcpu": ...})
            target, host = _from_config(target, host)
        if not isinstance(target, str) or not target.split():
            raise TargetError(f"a target must be a string such as 'llvm' or 'cuda', got {target!r}")
        first, *rest = target.split()
        if "/" in first:  # a tag: TVM's name for a device's target string
            if first not in TAGS:
                raise TargetError(f"unknown target tag '{first}' (known: {', '.join(sorted(TAGS))})")
            tagged, tag_host = TAGS[first]
            target = " ".join([tagged, *rest, f"-tag={first}"])
            host = host if host is not None else tag_host
        kind, *words = target.split()
        words, in_text = _split_host(_joined_options(words), target)
        host = host if host is not None else in_text  # an explicit host= wins, as in TVM
        if kind == "c":
            # TVM's C host target: C source for the host CPU's compiler.  tensorlang compiles host
            # code with LLVM, which is what that C becomes; get_source() shows LLVM IR, not C.
            kind = "llvm"
        if kind not in KINDS:
            raise TargetError(f"unknown target '{kind}' (known: {', '.join(KINDS)})")
        self.text = " ".join([kind, *words])
        get_backend(kind).parse_target(self.text)  # a wrong option fails here, as TVM's Target() does
        self.kind = _Kind(kind)
        self.host = _host_target(host)
        self._tokens: list[Any] = []

    @property
    def options(self) -> list[str]:
        return self.text.split()[1:]

    @property
    def attrs(self) -> dict[str, Any]:
        """TVM's ``target.attrs``: the ``-key=value`` options by key (whole numbers as ints, a bare
        flag as True), and for a GPU target the device limits it builds for."""
        out: dict[str, Any] = {}
        if self.kind.name == "cuda":
            dev = self._device()
            out.update(arch=dev.arch, max_num_threads=dev.max_threads_per_block, thread_warp_size=dev.warp_size,
                       max_shared_memory_per_block=dev.max_shared_memory_per_block,
                       registers_per_block=dev.registers_per_block)
        out.update(self._options())
        return out

    def _options(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for opt in self.options:
            key, eq, value = opt.lstrip("-").partition("=")
            out[key] = int(value) if value.isdigit() else value if eq else True
        return out

    def export(self) -> dict[str, Any]:
        """The target as a dict (TVM's ``export``): kind, keys, attributes and host."""
        out: dict[str, Any] = {"kind": self.kind.name, "keys": self.keys, **self.attrs}
        if self.host is not None:
            out["host"] = self.host.export()
        return out

    @staticmethod
    def list_kinds() -> list[str]:
        """The target kinds tensorlang generates code for."""
        return list(KINDS)

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
        return str(self._options().get("mcpu", ""))

    @property
    def mattr(self) -> list[str]:
        """The ``-mattr`` features, one a string."""
        value = str(self._options().get("mattr", ""))
        return [f for f in value.split(",") if f]

    @property
    def device_name(self) -> str:
        """TVM's ``target.device_name``: the ``-device`` option ("" when not given)."""
        return str(self._options().get("device", ""))

    @property
    def tag(self) -> str:
        """TVM's ``target.tag``: the tag the target was made from ("nvidia/nvidia-a100"), else ""."""
        return str(self._options().get("tag", ""))

    @property
    def model(self) -> str:
        return str(self._options().get("model", "unknown"))

    @property
    def libs(self) -> list[str]:
        return [lib for lib in str(self._options().get("libs", "")).split(",") if lib]

    @property
    def keys(self) -> list[str]:
        """TVM's target keys: the ``-device`` option first, then the kind's ("cpu"; "cuda", "gpu")."""
        device = self._options().get("device")
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

    def with_host(self, host: Any = None) -> Target:
        """TVM's ``Target.with_host``: this target carrying ``host`` (an LLVM CPU target)."""
        return Target(self, host)

    @staticmethod
    def canon_target_and_host(target: Any, target_host: Any = None) -> tuple[Target | None, Any]:
        """TVM's ``Target.canon_target_and_host``: ``target`` as a Target carrying ``target_host``
        (None stays None), and that host."""
        if target is None:
            return None, target_host
        t = Target(target, target_host) if target_host is not None or not isinstance(target, Target) else target
        return t, t.host

    @staticmethod
    def current(allow_none: bool = True) -> Target | None:
        """The innermost target of the enclosing ``with Target(...)`` blocks, if any."""
        cur = _current.get()
        if cur is None and not allow_none:
            raise TargetError("no target is set: pass target= or use 'with tl.target.Target(...)'")
        return cur


def _from_config(config: dict, host: Any) -> tuple[str, Any]:
    """The target string (and host) of TVM's dict form ``{"kind": "llvm", "mcpu": ..., "host": ...}``."""
    conf = dict(config)
    kind = conf.pop("kind", None)
    if not isinstance(kind, str):
        raise TargetError(f"a target dict needs a 'kind' such as 'llvm' or 'cuda', got {config!r}")
    host = conf.pop("host", host)
    conf.pop("keys", None)  # derived from the kind and -device here
    words = [kind]
    for key, value in conf.items():
        if isinstance(value, dict) or (isinstance(value, (list, tuple))
                                       and not all(isinstance(v, (str, int, float)) for v in value)):
            raise TargetError(f"target attribute '{key}' must be a string, a number, a bool or a list of "
                              f"strings, got {value!r} in {config!r}")
        if value is True:
            words.append(f"-{key}")
        elif value is not False and value is not None:
            text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
            words.append(f"-{key}={text}")
    return " ".join(words), host


def _split_host(words: list[str], text: str) -> tuple[list[str], str | None]:
    """TVM's host inside a target string ("cuda --host=llvm", "cuda -host llvm"), from its option
    ``words`` (joined by ``_joined_options``): the other words, and the host's text (or None)."""
    kept, host = [], None
    for word in words:
        key, _, value = word.partition("=")
        if key not in ("-host", "--host"):
            kept.append(word)
        elif not value:
            raise TargetError(f"'{word}' in target '{text}' needs a host target, e.g. --host=llvm")
        else:
            host = value
    return kept, host


def _host_target(host: Any) -> Target | None:
    """``host=`` as a Target (TVM's ``target.host``): None, or an LLVM CPU target."""
    if host is None:
        return None
    t = host if isinstance(host, Target) else Target(host)
    if t.kind.name != "llvm":
        raise TargetError(f"a target's host must be an LLVM CPU target such as 'llvm', got '{t}'")
    return t


def option_words(text: str, kind: str, what: str) -> list[tuple[str, str, bool, str]]:
    """(word, key, has "=", value) for each option word of the target string ``text``, once its
    first word is checked to be ``kind`` (``what`` names the kind in the error: "an LLVM")."""
    words = text.split()
    if not words or words[0] != kind:
        raise TargetError(f"not {what} target string: '{text}' (expected '{kind} [options]')")
    return [(word, *_key_value(word)) for word in _joined_options(words[1:])]


def _joined_options(words: list[str]) -> list[str]:
    """The option words with TVM's "-mcpu skylake" spelled "-mcpu=skylake" (TVM reads a word that
    is not an option as the value of the option before it)."""
    joined: list[str] = []
    for word in words:
        if joined and not word.startswith("-") and "=" not in joined[-1]:
            joined[-1] = f"{joined[-1]}={word}"
        else:
            joined.append(word)
    return joined


def _key_value(word: str) -> tuple[str, bool, str]:
    key, eq, value = word.partition("=")
    return key, bool(eq), value


@cache  # once per target string: it is parsed again by every build
def no_effect_option(word: str, text: str) -> None:
    """Warn that a TVM option of the target string ``text`` is accepted but changes nothing here."""
    warnings.warn(f"target option '{word}' has no effect in tensorlang (target '{text}'): code is generated "
                  "as without it, with the same results", stacklevel=_caller_outside_package())


def _caller_outside_package() -> int:
    """The ``stacklevel`` that points a warning raised by our caller at the first frame outside
    tensorlang: the user's ``Target(...)`` or ``build(...)`` line, however deep the parse ran."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("tensorlang."):
        frame, level = frame.f_back, level + 1
    return level


def unknown_option(word: str, text: str, known: tuple[str, ...]) -> TargetError:
    """The error for an option word a backend's target parser does not understand."""
    return TargetError(f"unknown option '{word}' in target '{text}'; known options: {', '.join(known)}")


def as_target(target: str | Target | None) -> Target:
    """The given target, else the current one, else ``llvm``."""
    if target is None:
        return Target.current() or Target("llvm")
    return target if isinstance(target, Target) else Target(target)


def list_tags() -> dict[str, Target]:
    """TVM's ``tvm.target.list_tags()``: each known tag and its Target."""
    return {name: Target(name) for name in TAGS}


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


def generic_func(fdefault: Any) -> Any:
    """TVM's ``@tvm.target.generic_func``: a function whose ``register(keys)``'d versions run
    instead of ``fdefault`` when the current target (``with Target(...)``) has one of those keys
    ("cpu"; "cuda", "gpu"; a ``-device=`` name), checked in the target's key order."""
    if not callable(fdefault):
        raise TargetError(f"generic_func decorates a function, got {fdefault!r}")
    dispatch_dict: dict[str, Any] = {}
    name = getattr(fdefault, "__name__", "generic_func")

    def register(key: str | list[str], func: Any = None, override: bool = False) -> Any:
        keys = [key] if isinstance(key, str) else list(key) if isinstance(key, (list, tuple)) else None
        if not keys or not all(isinstance(k, str) and k for k in keys):
            raise TargetError(f"{name}.register: key must be a target key or a list of them (e.g. 'cpu', "
                              f"['cuda', 'gpu']), got {key!r}")

        def do_register(myf: Any) -> Any:
            if not callable(myf):
                raise TargetError(f"{name}.register({key!r}) decorates a function, got {myf!r}")
            for k in keys:
                if k in dispatch_dict and not override:
                    raise TargetError(f"{name}: key '{k}' is already registered (pass override=True)")
                dispatch_dict[k] = myf
            return myf

        return do_register(func) if func is not None else do_register

    @wraps(fdefault)
    def dispatch(*args: Any, **kwargs: Any) -> Any:
        target = Target.current()
        if target is not None:
            for k in target.keys:
                if k in dispatch_dict:
                    return dispatch_dict[k](*args, **kwargs)
        return fdefault(*args, **kwargs)

    dispatch.register = register  # type: ignore[attr-defined]
    dispatch.fdefault = fdefault  # type: ignore[attr-defined]
    dispatch.dispatch_dict = dispatch_dict  # type: ignore[attr-defined]
    return dispatch
