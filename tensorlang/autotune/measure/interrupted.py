"""Results a batch measured before an interrupt (Ctrl-C, the command line's SIGTERM) travel with
the interrupt's exception, so that the tuner logs them before it stops: an interrupted run then
resumes without measuring them again, and loses at most the candidate it was timing."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

_ATTRIBUTE = "tensorlang_measured_before"
# The signals that stop a run; the command line's handler raises again every 0.2 s (SIGALRM)
# until the run has stopped, which must not cut short the writing of the finished trials.
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGALRM}


def attach(exc: BaseException, results: list[Any]) -> None:
    """Record on ``exc`` the results measured, in input order, before it was raised."""
    if results:
        setattr(exc, _ATTRIBUTE, list(results))


def measured_before(exc: BaseException) -> list[Any]:
    """The results ``attach`` recorded on ``exc`` (the first ``len`` inputs of the batch), or []."""
    return list(getattr(exc, _ATTRIBUTE, ()))


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and the stop timer wait until the block is done (then arrive as usual).

    Blocking them in this thread is not enough: a tuning process has other threads (xgboost's
    OpenMP pool, once a cost model was fitted), the kernel hands a signal sent to the process to
    one of those, and Python then runs its handler in the main thread all the same, inside the
    block.  So, in the main thread, the handlers are also replaced for the block by one that
    notes the signal, and the noted signals are raised again once it is done."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    noted: list[int] = []
    previous: dict[int, Any] = {}
    try:
        if threading.current_thread() is threading.main_thread():
            for sig in _STOP_SIGNALS:
                if signal.getsignal(sig) is not None:  # None: a handler Python did not install, left alone
                    previous[sig] = signal.signal(sig, lambda signum, frame: noted.append(signum))
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # what waited here arrives, noted or as usual
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(noted):
            signal.raise_signal(sig)
