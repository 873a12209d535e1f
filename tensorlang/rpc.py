"""TVM's ``tvm.rpc`` for code that runs its modules through a session: ``rpc.LocalSession()``
(TVM's cross-compilation tutorial), and ``rpc.connect``/``rpc.connect_tracker`` to this machine.

tensorlang has no RPC server: a session is this process, with a private working folder that
``upload`` copies files into and ``load_module`` loads them from (``runtime.load_module``, so
every format ``export_library`` writes); its devices are this machine's. ``connect`` and a
tracker's ``request`` to this machine give such a session and say so once; another host is
refused with an error naming it, rather than running on the wrong machine.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from typing import Any

from .errors import TargetError
from .runtime import load_module as _load_module
from .runtime.ndarray import Device, cpu, cuda, device
from .runtime.packed import get_global_func

_LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "0.0.0.0", "::1"}


class RPCSession:
    """A session whose files live in a private working folder of this process."""

    def __init__(self) -> None:
        self._dir = tempfile.mkdtemp(prefix="tensorlang-rpc-")

    def _path(self, name: str) -> str:
        """``name`` inside the working folder; a path that leaves it is refused."""
        path = os.path.normpath(os.path.join(self._dir, os.fsdecode(name)))
        if os.path.commonpath([path, self._dir]) != self._dir:
            raise TargetError(f"rpc session: '{name}' is outside the session's working folder")
        return path

    def upload(self, data: str | bytes | bytearray | os.PathLike, target: str | None = None) -> None:
        """Copy a file (a path) or bytes into the working folder, as ``target`` (default: the
        file's own name; bytes need one)."""
        if isinstance(data, (bytes, bytearray)):
            if not target:
                raise TargetError("rpc session upload of bytes needs target= (the name to store them under)")
            with open(self._path(target), "wb") as f:
                f.write(data)
            return
        src = os.fsdecode(data)
        if not os.path.isfile(src):
            raise TargetError(f"rpc session upload: no file at '{src}'")
        shutil.copyfile(src, self._path(target or os.path.basename(src)))

    def download(self, path: str) -> bytearray:
        """The bytes of a file in the working folder."""
        full = self._path(path)
        if not os.path.isfile(full):
            raise TargetError(f"rpc session download: no file '{path}' (uploaded: {self.listdir('.')})")
        with open(full, "rb") as f:
            return bytearray(f.read())

    def remove(self, path: str) -> None:
        """Delete a file or folder of the working folder."""
        full = self._path(path)
        if os.path.isdir(full):
            shutil.rmtree(full)
        elif os.path.exists(full):
            os.remove(full)

    def listdir(self, path: str = ".") -> str:
        """The names in a folder of the working folder, comma-separated (as TVM's)."""
        return ",".join(sorted(os.listdir(self._path(path))))

    def load_module(self, path: str) -> Any:
        """Load a module uploaded to the working folder (any format ``export_library`` writes)."""
        full = self._path(path)
        if not os.path.isfile(full):
            raise TargetError(f"rpc session load_module: no file '{path}' was uploaded (uploaded: "
                              f"{self.listdir('.') or 'nothing'})")
        return _load_module(full)

    def download_linked_module(self, path: str) -> bytearray:
        """The file of a module in the working folder (modules here are already linked)."""
        return self.download(path)

    def get_function(self, name: str) -> Any:
        """A registered global function (``tvm.get_global_func`` in the session)."""
        return get_global_func(name)

    def device(self, dev_type: str | int, dev_id: int = 0) -> Device:
        return device(dev_type, dev_id)

    def cpu(self, dev_id: int = 0) -> Device:
        return cpu(dev_id)

    def cuda(self, dev_id: int = 0) -> Device:
        return cuda(dev_id)

    gpu = cuda

    def __del__(self) -> None:
        shutil.rmtree(getattr(self, "_dir", ""), ignore_errors=True)


class LocalSession(RPCSession):
    """TVM's in-process session (``rpc.LocalSession()``)."""


def _local(what: str, host: Any) -> RPCSession:
    if host not in _LOCAL_HOSTS:
        raise TargetError(f"{what}: tensorlang has no RPC server and cannot run on the host {host!r}; run the code "
                          "on that machine, or use rpc.LocalSession() here")
    warnings.warn(f"{what}: tensorlang has no RPC server; the session runs in this process on this machine "
                  "(rpc.LocalSession)", stacklevel=3)
    return LocalSession()


def connect(url: str, port: int, key: str = "", session_timeout: float = 0, session_constructor_args: Any = None,
            enable_logging: bool = False) -> RPCSession:
    """A session on ``url``: this machine only (see the module docstring)."""
    return _local(f"rpc.connect({url!r}, {port!r})", url)


class TrackerSession:
    """``rpc.connect_tracker(host, port)`` to this machine: every request is a local session."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port

    def request(self, key: str, priority: int = 1, session_timeout: float = 0, max_retry: int = 5,
                session_constructor_args: Any = None) -> RPCSession:
        return _local(f"tracker request for {key!r}", self.host)

    def text_summary(self) -> str:
        return "tensorlang has no RPC tracker: requests run in this process on this machine"

    def summary(self) -> dict[str, Any]:
        return {"server_info": [], "queue_info": {}}

    def close(self) -> None:
        pass


def connect_tracker(url: str, port: int) -> TrackerSession:
    """A tracker on ``url``: this machine only (see the module docstring)."""
    if url not in _LOCAL_HOSTS:
        raise TargetError(f"rpc.connect_tracker({url!r}, {port!r}): tensorlang has no RPC tracker and cannot use "
                          "one on another host; tune on that machine with autotvm.LocalRunner")
    return TrackerSession(url, port)


class Server:
    """TVM's RPC server: refused, with the way to run here."""

    def __init__(self, *args: Any, **kwargs: Any):
        raise TargetError("rpc.Server: tensorlang has no RPC server; modules run in the process that loads them "
                          "(rpc.LocalSession(), or tvm.runtime.load_module)")


__all__ = ["RPCSession", "LocalSession", "TrackerSession", "connect", "connect_tracker", "Server"]
