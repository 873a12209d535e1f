"""TVM's ``autotvm.RPCRunner``, for code that measures through an RPC tracker.

tensorlang has no RPC server or tracker: GPU candidates already run in a spawned worker per
device and CPU candidates in isolated children (``local.LocalRunner``).  A tracker on this
machine therefore means the candidates would run here anyway, so ``RPCRunner`` with a local
host is a ``LocalRunner`` with the same timing options (and says so once); a remote host is
refused with a ``MeasureOptionError`` rather than measured on the wrong machine.
"""

from __future__ import annotations

import warnings
from typing import Any

from .local import LocalRunner, MeasureOptionError

_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "0.0.0.0", "::1"}


class RPCRunner(LocalRunner):
    """``RPCRunner(key, host, port, ...)``: measure on this machine when ``host`` is this one."""

    def __init__(self, key: str, host: str | None = None, port: int | None = None, priority: int = 1,
                 timeout: float = 10.0, n_parallel: int | None = None, number: int = 4, repeat: int = 3,
                 min_repeat_ms: float = 0, cooldown_interval: float = 0.1, enable_cpu_cache_flush: bool = False,
                 module_loader: Any = None):
        del priority, n_parallel, module_loader  # tracker scheduling and remote loading: nothing here uses them
        if host not in _LOCAL_HOSTS:
            raise MeasureOptionError(
                f"RPCRunner(key={key!r}, host={host!r}, port={port!r}): tensorlang has no RPC tracker and cannot "
                "measure on another machine; run the tuning on that machine with autotvm.LocalRunner(...)")
        warnings.warn(f"RPCRunner(key={key!r}, host={host!r}): tensorlang has no RPC tracker; the candidates are "
                      "measured on this machine, as LocalRunner does", stacklevel=2)
        super().__init__(number=number, repeat=repeat, min_repeat_ms=min_repeat_ms, timeout=timeout,
                         cooldown_interval=cooldown_interval, enable_cpu_cache_flush=enable_cpu_cache_flush)
        self.key, self.host, self.port = key, host, port
