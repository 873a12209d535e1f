"""Scratch folders of measurement (built candidates, reference data) carry the id of the process
that made them, so that the next run removes those a killed run left behind: a SIGKILLed tuning
run cannot clean up after itself, and its folders would otherwise pile up in the temp folder."""

from __future__ import annotations

import functools
import os
import shutil
import tempfile

PREFIXES = ("tensorlang-build-", "tensorlang-ref-", "tensorlang-measure-")


def scratch_dir(prefix: str) -> tempfile.TemporaryDirectory:
    """A temporary folder ``<prefix><namespace>.<pid>-<random>``, removed with the object or at
    exit; the first call in a process also removes the folders of processes that are gone
    (``sweep_orphans``)."""
    sweep_orphans_once()
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{_owner_tag(os.getpid())}-")


def sweep_orphans(root: str | None = None) -> int:
    """Remove the scratch folders under ``root`` (the temp folder) that this user's processes of
    this PID namespace made and that are no longer running; returns how many were removed.
    Folders of other namespaces (another container sharing the folder) or users stay."""
    ns = _pid_namespace()
    if ns is None:
        return 0  # no /proc: nothing tells a dead process from a live one safely
    removed = 0
    try:
        entries = list(os.scandir(root or tempfile.gettempdir()))
    except OSError:
        return 0
    for entry in entries:
        owner = _owner(entry.name)
        if owner is None or owner[0] != ns or _running(owner[1]):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False) or entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed += 1
    return removed


@functools.cache
def sweep_orphans_once() -> None:
    """``sweep_orphans`` of the temp folder, once a process: what the first scratch folder and
    every tuning run's opening of its log do, so that a resumed run with nothing left to measure
    (it makes no scratch folder of its own) still removes the folders of the killed run it resumes."""
    sweep_orphans()


@functools.cache
def _pid_namespace() -> str | None:
    """This process's PID namespace id (the inode of /proc/self/ns/pid), None where unknown."""
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return None


def _owner_tag(pid: int) -> str:
    return f"{_pid_namespace() or 'x'}.{pid}"


def _owner(name: str) -> tuple[str, int] | None:
    """(namespace, pid) of a scratch folder's name, None for any other name."""
    for prefix in PREFIXES:
        if name.startswith(prefix):
            ns, _, rest = name[len(prefix):].partition(".")
            pid = rest.partition("-")[0]
            return (ns, int(pid)) if ns.isdigit() and pid.isdigit() else None
    return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's process: running
    return True
