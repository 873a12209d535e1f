"""Run functions in isolated forked children: whatever a child does (raise, crash, hang, run out of memory),
the parent gets an ``Outcome`` back and never an exception.

Each job runs in a fresh child forked from the calling (main) thread, at most ``n_parallel`` at a time, under a
wall-clock timeout.  A child is the leader of its own process group, so a timeout kills it together with anything
it started (the C compiler, the threads of a parallel loop).  Results travel back through a one-way pipe.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import faulthandler
import multiprocessing
import numbers
import os
import resource
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from ...errors import TensorLangError

_MSG_LIMIT = 2000   # characters of an error message kept (logs stay readable)
_TB_FRAMES = 3      # innermost traceback frames kept
# The longest timeout: connection.wait() takes at most 2**31 - 1 ms (~24.8 days) and overflows beyond.
MAX_WAIT_S = (2**31 - 1) / 1000


class ExecutorError(TensorLangError, ValueError):
    """The executor was asked something impossible (bad n_parallel, timeout or memory limit)."""


def _check_timeout(timeout: float) -> None:
    """ExecutorError unless ``timeout`` is a number of seconds a wait can take (not inf or nan)."""
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout <= MAX_WAIT_S:
        raise ExecutorError(f"timeout must be a finite number of seconds, more than 0 and at most "
                            f"{int(MAX_WAIT_S)}, got {timeout!r}")


@dataclass(frozen=True)
class Outcome:
    """What became of one job.

    ``status`` is ``"ok"`` (``value`` holds the return value), ``"error"`` (the function raised:
    ``error_type`` and ``message`` with a traceback tail), ``"crash"`` (the child died without
    answering: ``message`` names the signal or exit code) or ``"timeout"`` (killed after
    ``timeout`` seconds).  ``elapsed`` is the wall time from start to answer, in seconds."""

    status: str
    value: Any = None
    error_type: str = ""
    message: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def truncate(text: str, limit: int = _MSG_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, keeping both ends (the start names the error, the
    end holds the innermost frame)."""
    if len(text) <= limit:
        return text
    half = (limit - 30) // 2
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{text[-half:]}"


def signal_name(exitcode: int) -> str:
    """``SIGSEGV`` for exit code -11, ``exit code 3`` for 3."""
    if exitcode < 0:
        try:
            return signal.Signals(-exitcode).name
        except ValueError:
            return f"signal {-exitcode}"
    return f"exit code {exitcode}"


def _vm_size_bytes() -> int:
    """This process's current virtual memory size (VmSize), 0 when /proc is unavailable."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _die_with_parent() -> None:
    """Linux: have the kernel kill this child when the parent that forked it dies.  In its own
    process group, a child is out of reach of a kill of the parent's group (``kill -9 -PGID``), and
    nothing else would stop a candidate left running for minutes after its tuning run was killed."""
    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the child ends when its job does
        return
    if parent is not None and os.getppid() != parent.pid:  # the parent died before prctl
        os._exit(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _isolate(others: Sequence[Connection], memory_limit_mb: float | None) -> None:
    """First steps of a forked child: its own process group and signals, no inherited pipes of
    siblings, and the memory limit (raises if the limit cannot be set)."""
    # Own process group: Ctrl-C in the terminal reaches only the parent, and a timeout kill
    # (killpg) also takes the compiler or threads this child started.
    os.setpgid(0, 0)
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a terminated candidate ends quietly
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)  # held by the parent around fork
    # A crash is reported by its signal; a faulthandler dump (pytest enables one) would only be noise.
    if faulthandler.is_enabled():
        faulthandler.disable()
    # Pipes of sibling jobs that this child inherited through fork: close them so the siblings'
    # pipes see end-of-file only when their own child is gone.
    for other in others:
        other.close()
    if memory_limit_mb is not None:
        # RLIMIT_AS counts address space, and the child starts with the parent's (an
        # interpreter with numpy and LLVM maps hundreds of MiB it never touches), so the
        # limit is what the job may add on top of what it inherited.
        limit = _vm_size_bytes() + int(memory_limit_mb * 2**20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))


def _answer(conn: Connection, fn: Callable[..., Any], args: tuple) -> None:
    """Run ``fn(*args)`` and send ("ok", value) or ("error", type, message)."""
    try:
        message: tuple = ("ok", fn(*args))
    except BaseException as exc:  # noqa: BLE001 - everything a job raises is its outcome
        message = ("error", type(exc).__name__, _describe(exc))
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError):
        return  # the parent is gone (interrupted, killed): nobody to answer, leave quietly
    except Exception as exc:  # noqa: BLE001 - e.g. an unpicklable return value
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.send(("error", type(exc).__name__, f"cannot send the result back: {exc}"))


def _child_main(fn: Callable[..., Any], args: tuple, conn: Connection, others: list[Connection],
                memory_limit_mb: float | None) -> None:
    """Body of a child: isolate, run ``fn(*args)``, send ("ok", value) or ("error", type, message)."""
    try:
        _isolate(others, memory_limit_mb)
    except BaseException as exc:  # noqa: BLE001 - reported as the job's outcome
        conn.send(("error", type(exc).__name__, _describe(exc)))
        conn.close()
        return
    _answer(conn, fn, args)
    conn.close()


def _describe(exc: BaseException) -> str:
    """``message`` plus the innermost frames of the traceback (where it was raised)."""
    text = str(exc) or type(exc).__name__
    # Skip the frame of _answer itself: the job's own frames are the useful ones.
    tb = exc.__traceback__.tb_next if exc.__traceback__ is not None else None
    frames = "".join(traceback.format_list(traceback.extract_tb(tb)[-_TB_FRAMES:])).rstrip()
    return truncate(f"{text}\n{frames}" if frames else text)


@dataclass
class _Running:
    index: int
    process: Any
    conn: Connection
    start: float
    deadline: float


def _kill(process: Any) -> None:
    """SIGKILL the child's whole process group, then reap it."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        # The child may not have called setpgid yet (or is gone): kill it alone.
        try:
            process.kill()
        except (ProcessLookupError, OSError):
            pass
    process.join()


def _collect(r: _Running, timeout: float, finish: Callable[[_Running, Outcome], None]) -> None:
    """Take the answer of a child whose pipe or process sentinel is ready."""
    answer = None
    try:
        # A child that sent its answer may still be exiting: the data is in the pipe either way.
        if r.conn.poll():
            answer = r.conn.recv()
    except (EOFError, OSError):
        answer = None  # the pipe closed without an answer: the child is dying
    # Reap the child; one that answered (or closed its pipe) but does not exit by its deadline
    # (say, a thread of the candidate still runs) is killed.
    r.process.join(timeout=max(0.0, r.deadline - time.perf_counter()))
    if r.process.is_alive():
        _kill(r.process)
        if answer is None:
            finish(r, Outcome("timeout", message=f"killed after the timeout of {timeout:g} s",
                              elapsed=time.perf_counter() - r.start))
            return
    elapsed = time.perf_counter() - r.start
    if answer is None:
        code = r.process.exitcode if r.process.exitcode is not None else 0
        finish(r, Outcome("crash", error_type=signal_name(code),
                          message=f"the child process died with {signal_name(code)}", elapsed=elapsed))
    elif answer[0] == "ok":
        finish(r, Outcome("ok", value=answer[1], elapsed=elapsed))
    else:
        finish(r, Outcome("error", error_type=answer[1], message=answer[2], elapsed=elapsed))


def _start_child(proc: Any) -> None:
    """Fork ``proc`` and make it the leader of its own process group."""
    # Ctrl-C/SIGTERM wait until fork has returned: the exception a Python handler
    # raises inside an at-fork hook is lost ("Exception ignored"), and the run goes on.
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        proc.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    try:
        # Set the group from both sides, so a kill right after start reaches it.
        os.setpgid(proc.pid, proc.pid)
    except OSError:
        pass  # the child already did it, or is gone


def run_isolated(fn: Callable[..., Any], jobs: Sequence[tuple], n_parallel: int = 1,
                 timeout: float = 10.0, memory_limit_mb: float | None = None) -> list[Outcome]:
    """Run ``fn(*job)`` for every job in its own forked child; one Outcome per job, in order.

    At most ``n_parallel`` children run at once, each killed after ``timeout`` seconds of wall
    time; with ``memory_limit_mb`` a child may grow its address space by that much and no more
    (an allocation beyond fails inside the child).  ``fn`` and the jobs reach the child through
    fork, so they need not be picklable; return values are pickled back.  Call it from the main
    thread of a process that runs no other threads: a lock held by another thread at fork time
    would stay locked forever in the child."""
    if n_parallel < 1:
        raise ExecutorError(f"n_parallel must be >= 1, got {n_parallel}")
    _check_timeout(timeout)
    if memory_limit_mb is not None and not memory_limit_mb > 0:
        raise ExecutorError(f"memory_limit_mb must be > 0, got {memory_limit_mb}")
    ctx = multiprocessing.get_context("fork")
    outcomes: list[Outcome | None] = [None] * len(jobs)
    running: dict[int, _Running] = {}
    todo = list(range(len(jobs)))
    todo.reverse()  # pop() from the end takes jobs in order

    def finish(r: _Running, outcome: Outcome) -> None:
        outcomes[r.index] = outcome
        r.conn.close()
        del running[r.index]

    try:
        while todo or running:
            while todo and len(running) < n_parallel:
                index = todo.pop()
                reader, writer = ctx.Pipe(duplex=False)
                others = [r.conn for r in running.values()] + [reader]
                proc = ctx.Process(target=_child_main, args=(fn, jobs[index], writer, others, memory_limit_mb),
                                   daemon=True, name=f"tensorlang-job-{index}")
                start = time.perf_counter()
                _start_child(proc)
                # The parent keeps only the read end, so the pipe reports EOF once the child is gone.
                writer.close()
                running[index] = _Running(index, proc, reader, start, start + timeout)

            now = time.perf_counter()
            next_deadline = min(r.deadline for r in running.values())
            waitables: list[Any] = [r.conn for r in running.values()] + [r.process.sentinel for r in running.values()]
            ready = set(wait(waitables, timeout=max(0.0, next_deadline - now)))
            now = time.perf_counter()
            for r in list(running.values()):
                if r.conn in ready or r.process.sentinel in ready:
                    _collect(r, timeout, finish)
                elif now >= r.deadline:
                    _kill(r.process)
                    finish(r, Outcome("timeout", message=f"killed after the timeout of {timeout:g} s",
                                      elapsed=now - r.start))
    finally:
        # KeyboardInterrupt or an error in the parent: leave no child behind.
        for r in list(running.values()):
            _kill(r.process)
            r.conn.close()
    return [o for o in outcomes if o is not None]



def map_in_children(fn: Callable[[list], Sequence[Any]], items: Sequence[Any], workers: int,
                    timeout: float = 120.0) -> list[Any]:
    """``fn`` over ``items`` in up to ``workers`` forked children side by side (``run_isolated``),
    each given a contiguous share: ``fn(share)`` returns one result per item of its share, in
    order; the results come back in the order of ``items``.  A child that raises, dies, returns
    something else or runs past ``timeout`` has its share computed here instead, so the result
    never depends on the children (for work that is only faster side by side, such as feature
    extraction).  One worker, one item, or a platform without fork runs here."""
    workers = max(1, min(int(workers), len(items)))
    if workers == 1 or "fork" not in multiprocessing.get_all_start_methods():
        return list(fn(list(items)))
    bounds = [round(i * len(items) / workers) for i in range(workers + 1)]
    shares = [list(items[bounds[i]:bounds[i + 1]]) for i in range(workers)]
    outcomes = run_isolated(fn, [(share,) for share in shares], n_parallel=workers, timeout=timeout)
    out: list[Any] = []
    for share, outcome in zip(shares, outcomes):
        ok = outcome.ok and isinstance(outcome.value, list) and len(outcome.value) == len(share)
        out.extend(outcome.value if ok else fn(share))
    return out

def _worker_main(conn: Connection, parent_end: Connection, memory_limit_mb: float | None) -> None:
    """Body of a long-lived child: isolate once, then answer (fn, args) jobs until the pipe
    closes (the parent is gone or retired it) or None arrives."""
    try:
        # The parent's end came along with fork: closed here, so that the parent's death
        # (even by SIGKILL) is end-of-file on this child's end and the child leaves.
        _isolate((parent_end,), memory_limit_mb)
    except BaseException as exc:  # noqa: BLE001 - the first job gets it as its outcome
        conn.send(("error", type(exc).__name__, _describe(exc)))
        return
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        _answer(conn, *job)


class Worker:
    """One long-lived forked child that runs jobs one after another, for many small jobs: the
    fork, and whatever a job keeps in the child (loaded data), are paid once, not per job.

    Isolation is ``run_isolated``'s: the child leads its own process group, and whatever a job
    does comes back as an Outcome.  A job that crashes the child, runs past its timeout (the
    child's group is killed) or raises ends the child; so does ``retire()`` (say, after a job
    whose result shows it may have written where it should not), and so does reaching
    ``max_jobs`` (what jobs load is never unloaded).  The next ``call`` forks a fresh child.
    Call it from the main thread, as ``run_isolated``."""

    def __init__(self, memory_limit_mb: float | None = None, max_jobs: int = 32):
        if memory_limit_mb is not None and not memory_limit_mb > 0:
            raise ExecutorError(f"memory_limit_mb must be > 0, got {memory_limit_mb}")
        if max_jobs < 1:
            raise ExecutorError(f"max_jobs must be >= 1, got {max_jobs}")
        self.memory_limit_mb = memory_limit_mb
        self.max_jobs = max_jobs
        self.started = 0  # children forked so far
        self._process: Any = None
        self._conn: Connection | None = None
        self._jobs = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=True)
        proc = ctx.Process(target=_worker_main, args=(child, parent, self.memory_limit_mb), daemon=True,
                           name="tensorlang-worker")
        _start_child(proc)
        child.close()  # the child's end lives in the child only: its death is end-of-file here
        self._process, self._conn, self._jobs = proc, parent, 0
        self.started += 1

    def call(self, fn: Callable[..., Any], args: tuple = (), timeout: float = 10.0) -> Outcome:
        """Run ``fn(*args)`` in the child (``fn`` and ``args`` are pickled to it); an Outcome
        whatever happens, ``elapsed`` from the request to the answer (a fork included)."""
        _check_timeout(timeout)
        start = time.perf_counter()
        if self._process is None or not self._process.is_alive() or self._jobs >= self.max_jobs:
            self.retire()
            self._start()
        proc, conn = self._process, self._conn
        assert conn is not None
        self._jobs += 1
        answer = None
        ready: list[Any] = [conn]  # a failed send means the child is gone, as a closed pipe does
        try:
            conn.send((fn, tuple(args)))
            ready = wait([conn, proc.sentinel], timeout=timeout)
            if conn in ready:
                answer = conn.recv()
        except (EOFError, OSError):
            answer = None  # the child died: its pipe closed
        elapsed = time.perf_counter() - start
        if answer is None:
            if not ready:
                self.retire(kill=True)
                return Outcome("timeout", message=f"killed after the timeout of {timeout:g} s", elapsed=elapsed)
            # The child closed its pipe: it is dying (its files close before it can be reaped).
            proc.join(timeout=max(1.0, timeout - elapsed))
            if proc.is_alive():
                _kill(proc)
            code = proc.exitcode if proc.exitcode is not None else 0
            self.retire()
            return Outcome("crash", error_type=signal_name(code),
                           message=f"the child process died with {signal_name(code)}", elapsed=elapsed)
        if answer[0] == "ok":
            return Outcome("ok", value=answer[1], elapsed=elapsed)
        self.retire(kill=True)  # a job that raised may have left the child in any state
        return Outcome("error", error_type=answer[1], message=answer[2], elapsed=elapsed)

    def retire(self, kill: bool = False) -> None:
        """End the current child (politely, or with SIGKILL to its group); the next call forks anew."""
        proc, conn = self._process, self._conn
        self._process = self._conn = None
        if proc is None:
            return
        if kill and proc.is_alive():
            _kill(proc)
        if conn is not None:
            try:
                conn.send(None)
            except (OSError, ValueError):
                pass
            conn.close()
        proc.join(timeout=2.0)
        if proc.is_alive():
            _kill(proc)

    close = retire

    def __del__(self) -> None:
        try:
            self.retire(kill=True)
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# --- TVM's executor interface ---------------------------------------------------------------------
# ``LocalRunner.executor`` may be set to an object with TVM's ``submit``: the runner then hands
# each candidate to it (``local.run_candidate``) instead of running it in its own children.

class Executor:
    """TVM's ``autotvm.measure.executor.Executor``: ``submit(func, *args, **kwargs)`` runs
    ``func`` somewhere and returns a future (this module's ``Future``, or a
    ``concurrent.futures.Future``: any executor of ``concurrent.futures`` fits too)."""

    DEFAULT_TIMEOUT = 120

    def submit(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError


class Future:
    """TVM's future: ``done()`` and ``get(timeout=None)`` (the result, or the job's exception)."""

    def done(self) -> bool:
        raise NotImplementedError

    def get(self, timeout: float | None = None) -> Any:
        raise NotImplementedError


class FutureError(TensorLangError, RuntimeError):
    """Base of the errors a future reports."""


class FutureTimeoutError(FutureError):
    """A job ran past its timeout (TVM's ``executor.TimeoutError``)."""


class ExecutionError(FutureError):
    """A job crashed or failed."""


def future_result(future: Any, timeout: float | None = None) -> Any:
    """The result of a ``concurrent.futures`` future or of a TVM-style one (``get``)."""
    if isinstance(future, concurrent.futures.Future):
        return future.result(timeout)
    return future.get(timeout)


# TVM's name for it.  It shadows the builtin in this module, whose code never uses the builtin.
TimeoutError = FutureTimeoutError
