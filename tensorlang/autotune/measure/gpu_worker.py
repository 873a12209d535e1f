"""Measuring on a GPU: one long-lived worker process per device, a fresh interpreter, never a fork.

The CUDA driver does not survive fork: a child forked from a process that initialized CUDA gets
CUDA_ERROR_NOT_INITIALIZED, and a fresh child per candidate would create a context per trial
(0.1-0.3 s each).  So the tuning parent never touches the driver.  Each device gets a worker
started as a fresh interpreter (spawned, never forked, and without re-importing the parent's
``__main__`` as multiprocessing's spawn would); the worker initializes CUDA once (one context
for its whole life), then loads, checks and times every candidate it is sent.  A candidate that kills the
context (an illegal address, a launch failure: sticky errors after which every call fails) is
reported as a runtime error and the worker exits; the next candidate gets a fresh worker.  A
worker that crashes or runs past a candidate's timeout is killed and replaced the same way.

Guarantees: ``GPUWorker.call`` always returns an ``Outcome`` (never raises for what a
candidate does); a worker that cannot initialize CUDA raises ``GPUUnavailableError`` with one
line saying what is missing; the parent imports no CUDA module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from ...errors import TargetError
from ...target.cuda.driver import STICKY_ERRORS
from .executor import Outcome, signal_name, truncate

NO_GPU_HINT = "--target=\"cuda -emulate\" runs the kernels on the CPU instead"


class GPUUnavailableError(TargetError):
    """No usable CUDA driver or GPU for measuring (the message is one line saying what is missing)."""


@dataclass(frozen=True)
class DeviceInfo:
    """What a worker read off its device: ordinal, name, compute capability, driver version."""

    ordinal: int
    name: str
    compute_capability: tuple[int, int]
    driver_version: int
    runtime: str = ""  # which Python binding drives it ("cuda-python", "pycuda")

    @property
    def arch(self) -> str:
        return f"sm_{self.compute_capability[0]}{self.compute_capability[1]}"

    def fingerprint(self) -> Any:
        """The device-class fingerprint records carry (``autotune.fingerprint``)."""
        from ..fingerprint import gpu_fingerprint
        return gpu_fingerprint(self.name, self.compute_capability, {"cuda_driver": str(self.driver_version)})


def is_fatal_cuda_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a sticky CUDA error (the context is dead; the process must go)."""
    if getattr(exc, "fatal", False):
        return True
    text = f"{type(exc).__name__}: {exc}"
    return any(name in text for name in STICKY_ERRORS)


def init_cuda(ordinal: int) -> DeviceInfo:
    """Worker start-up: initialize CUDA (creating the one context of this process) on ``ordinal``."""
    from ...target.cuda.driver import cuda_device
    dev = cuda_device(ordinal)
    return DeviceInfo(ordinal, dev.name, tuple(dev.compute_capability), int(dev.driver_version),  # type: ignore
                      dev.runtime)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    frames = "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__)[-3:])).rstrip()
    return truncate(f"{text}\n{frames}" if frames else text)


def _worker_main(conn: Any) -> None:
    """Body of a worker: take ("init", ordinal, init), initialize once, then answer ("call", fn,
    args) messages until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        _, ordinal, init = conn.recv()
    except (EOFError, OSError):
        return
    try:
        info = init(ordinal)
    except BaseException as exc:  # noqa: BLE001 - any failure means "no usable GPU here"
        text = str(exc) if isinstance(exc, TargetError) else f"{type(exc).__name__}: {exc}"
        conn.send(("unavailable", text.splitlines()[0] if text else type(exc).__name__))
        conn.close()
        return
    conn.send(("ready", info))
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        if msg[0] != "call":
            return
        _, fn, args = msg
        try:
            conn.send(("ok", fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - a candidate's failure is its outcome
            fatal = is_fatal_cuda_error(exc)
            conn.send(("error", type(exc).__name__, _describe(exc), fatal))
            if fatal:  # the context is dead: leave, and let the parent start a fresh worker
                conn.close()
                os._exit(3)


def serve(read_fd: int, write_fd: int) -> None:
    """Entry point of a worker interpreter (``python -c``): talk to the parent over two pipes."""
    _worker_main(_Duplex(Connection(write_fd, readable=False), Connection(read_fd, writable=False)))


class _Duplex:
    """One connection object over two one-way pipes."""

    def __init__(self, out: Any, into: Any):
        self.out, self.into = out, into

    def send(self, obj: Any) -> None:
        self.out.send(obj)

    def recv(self) -> Any:
        return self.into.recv()

    def poll(self, timeout: float | None = 0.0) -> bool:
        return self.into.poll(timeout)

    def close(self) -> None:
        for c in (self.out, self.into):
            try:
                c.close()
            except OSError:
                pass


class _Interpreter:
    """A fresh Python interpreter running ``serve``: what multiprocessing's spawn gives, without
    re-importing the parent's ``__main__`` (a user script that tunes at top level would run
    again in the worker)."""

    def __init__(self, name: str):
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        env = dict(os.environ)
        # The worker unpickles functions by module name: give it this process's import path.
        paths = [p for p in sys.path if p and os.path.isdir(p)]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths + env.get("PYTHONPATH", "").split(os.pathsep)))
        code = (f"from tensorlang.autotune.measure.gpu_worker import serve; "
                f"serve({to_child_r}, {from_child_w})")
        self.popen = subprocess.Popen([sys.executable, "-c", code, name], env=env, stdin=subprocess.DEVNULL,
                                      pass_fds=(to_child_r, from_child_w), start_new_session=True)
        os.close(to_child_r)
        os.close(from_child_w)
        self.conn = _Duplex(Connection(to_child_w, readable=False), Connection(from_child_r, writable=False))

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def exitcode(self) -> int | None:
        return self.popen.poll()

    def is_alive(self) -> bool:
        return self.popen.poll() is None

    def kill(self) -> None:
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)  # the worker and anything it started
        except (ProcessLookupError, PermissionError):
            self.popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


class GPUWorker:
    """A spawned process that owns one GPU (``ordinal``) and runs module-level functions there.

    ``init(ordinal)`` runs once in the worker and returns the ``DeviceInfo``; ``call(fn, args,
    timeout)`` runs ``fn(*args)`` in the worker.  Restarts are lazy: after a crash, timeout or
    sticky CUDA error the next ``call`` starts a fresh worker (``restarts`` counts them)."""

    def __init__(self, ordinal: int = 0, init: Callable[[int], Any] = init_cuda, startup_timeout: float = 120.0):
        self.ordinal = ordinal
        self.init = init
        self.startup_timeout = startup_timeout
        self.info: DeviceInfo | None = None
        self.restarts = 0
        self._process: Any = None
        self._conn: Any = None
        self._started_once = False

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.is_alive()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> Any:
        """Start the worker if it is not running; its DeviceInfo, or GPUUnavailableError."""
        if self.alive:
            return self.info
        self._discard()
        proc = _Interpreter(f"tensorlang-gpu{self.ordinal}")
        parent = proc.conn
        self._process, self._conn = proc, parent
        if self._started_once:
            self.restarts += 1
        self._started_once = True
        try:
            parent.send(("init", self.ordinal, self.init))
            ready = parent.poll(self.startup_timeout)
            answer = parent.recv() if ready else None
        except (EOFError, OSError):
            answer = None
        if answer is None or answer[0] != "ready":
            proc.join(1.0)
            self._discard()
            if answer is None:
                why = (f"the GPU worker did not start within {self.startup_timeout:g} s" if proc.exitcode is None
                       else f"the GPU worker died at start-up with {signal_name(proc.exitcode)}")
            else:
                why = answer[1]
            hint = "" if "emulate" in why else f"; {NO_GPU_HINT}"
            raise GPUUnavailableError(f"no usable CUDA GPU {self.ordinal}: {why}{hint}")
        self.info = answer[1]
        return self.info

    def call(self, fn: Callable[..., Any], args: Sequence[Any] = (), timeout: float = 10.0) -> Outcome:
        """Run ``fn(*args)`` in the worker; an Outcome whatever happens (see executor.Outcome)."""
        start = time.perf_counter()
        try:
            self.start()
        except GPUUnavailableError as exc:
            return Outcome("error", error_type="GPUUnavailableError", message=str(exc),
                           elapsed=time.perf_counter() - start)
        conn = self._conn
        try:
            conn.send(("call", fn, tuple(args)))
            answer = conn.recv() if conn.poll(timeout) else None
        except (EOFError, OSError, BrokenPipeError):
            answer = None
        elapsed = time.perf_counter() - start
        if answer is None:
            if self._process.is_alive():
                self._discard()
                return Outcome("timeout", message=f"killed after the timeout of {timeout:g} s", elapsed=elapsed)
            self._process.join(1.0)
            code = self._process.exitcode if self._process.exitcode is not None else 0
            self._discard()
            return Outcome("crash", error_type=signal_name(code),
                           message=f"the GPU worker died with {signal_name(code)}", elapsed=elapsed)
        if answer[0] == "ok":
            return Outcome("ok", value=answer[1], elapsed=elapsed)
        _, error_type, message, fatal = answer
        if fatal:
            self._process.join(5.0)
            self._discard()
            message = f"{message}\n(a sticky CUDA error: the GPU worker was restarted)"
        return Outcome("error", error_type=error_type, message=message, elapsed=elapsed)

    def _discard(self) -> None:
        """Stop and forget the current process (killing it if needed)."""
        proc, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if proc is not None:
            if proc.is_alive():
                proc.kill()
            proc.join(5.0)

    def close(self) -> None:
        """Ask the worker to leave, and make sure it is gone."""
        if self.alive:
            try:
                self._conn.send(("stop",))
            except (OSError, BrokenPipeError):
                pass
            self._process.join(2.0)
        self._discard()

    def __del__(self) -> None:
        try:
            self._discard()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


def probe_gpu(ordinal: int = 0, timeout: float = 120.0) -> DeviceInfo:
    """The DeviceInfo of GPU ``ordinal``, read by a short-lived spawned worker (this process
    never initializes CUDA); GPUUnavailableError when there is no usable driver or device."""
    worker = GPUWorker(ordinal, startup_timeout=timeout)
    try:
        return worker.start()
    finally:
        worker.close()


class GPUPool:
    """One GPUWorker per device ordinal; runs jobs on whichever worker is free."""

    def __init__(self, ordinals: Sequence[int] = (0,), init: Callable[[int], Any] = init_cuda):
        if not ordinals:
            raise TargetError("GPUPool needs at least one device ordinal")
        self.workers = [GPUWorker(o, init) for o in ordinals]

    def start(self) -> list[Any]:
        """Start every worker; their DeviceInfos (GPUUnavailableError if one has no usable GPU)."""
        return [w.start() for w in self.workers]

    def run(self, fn: Callable[..., Any], jobs: Sequence[tuple], timeout: float) -> list[Outcome]:
        """``fn(*job)`` for every job, spread over the workers; one Outcome per job, in order."""
        return [o for o, _ in self.run_on_devices(fn, jobs, timeout)]

    def run_on_devices(self, fn: Callable[..., Any], jobs: Sequence[tuple],
                       timeout: float) -> list[tuple[Outcome, DeviceInfo | None]]:
        """As ``run``, each Outcome with the DeviceInfo of the device that ran it (None when
        that worker never started: no usable GPU)."""
        if len(self.workers) == 1:
            w = self.workers[0]
            return [(w.call(fn, job, timeout), w.info) for job in jobs]
        # Threads only wait on pipes here (the work is in the worker processes), one per worker.
        todo = list(enumerate(jobs))
        outcomes: list[tuple[Outcome, DeviceInfo | None] | None] = [None] * len(jobs)

        def drain(worker: GPUWorker) -> None:
            while todo:
                try:
                    i, job = todo.pop(0)
                except IndexError:
                    return
                # A worker keeps its ordinal across restarts, so its info names the device that ran the job.
                outcomes[i] = (worker.call(fn, job, timeout), worker.info)

        with ThreadPoolExecutor(len(self.workers)) as pool:
            list(pool.map(drain, self.workers))
        return [o for o in outcomes if o is not None]

    @property
    def restarts(self) -> int:
        return sum(w.restarts for w in self.workers)

    def close(self) -> None:
        for w in self.workers:
            w.close()
