"""Results a batch measured before an interrupt (Ctrl-C, the command line's SIGTERM) travel with
the interrupt's exception, so that the tuner logs them before it stops: an interrupted run then
resumes without measuring them again, and loses at most the candidate it was timing."""

from __future__ import annotations

import contextlib
import signal
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
    """Ctrl-C, SIGTERM and the stop timer wait until the block is done (then arrive as usual)."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
