"""The ``tensorlang`` command line.

File convention: a Python file exposes its operators through a top-level function
``schedules()`` that returns either a dict ``{name: (schedule, args)}`` or an iterable of
``(name, schedule, args)`` tuples.  ``tensorlang show FILE.py`` imports the file (its
``if __name__ == "__main__":`` block does not run), calls ``schedules()`` and prints the
lowered loop IR of each entry.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import TensorLangError


def load_file(path: str) -> Any:
    """Import a Python file as a module without running its __main__ block."""
    p = Path(path)
    if not p.is_file():
        raise TensorLangError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"tensorlang_user_{p.stem}", p)
    if spec is None or spec.loader is None:
        raise TensorLangError(f"{path}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(p.parent.resolve()))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return module


def iter_schedules(module: Any, path: str) -> Iterator[tuple[str, Any, list]]:
    """The (name, schedule, args) entries a file's ``schedules()`` declares."""
    fn = getattr(module, "schedules", None)
    if not callable(fn):
        raise TensorLangError(f"{path} defines no schedules() function; it should return "
                              "{name: (schedule, args)} (see `tensorlang show --help`)")
    got = fn()
    items = got.items() if isinstance(got, dict) else ((e[0], e[1:]) for e in got)
    for name, entry in items:
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise TensorLangError(f"{path}: schedules() entry '{name}' must be (schedule, args)")
        yield str(name), entry[0], list(entry[1])


def _show(args: argparse.Namespace) -> int:
    from .build_module import lower
    module = load_file(args.file)
    shown = 0
    for name, sch, tensors in iter_schedules(module, args.file):
        if args.name and name not in args.name:
            continue
        print(f"// {name}")
        print(lower(sch, tensors, name=name))
        print()
        shown += 1
    if not shown:
        print(f"{args.file}: no schedules matched", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tensorlang", description="tensorlang: a tensor compiler")
    parser.add_argument("--version", action="version", version=f"tensorlang {__version__}")
    sub = parser.add_subparsers(dest="command")
    show = sub.add_parser("show", help="print the lowered loop IR of the schedules a file declares",
                          description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("file", help="a Python file with a schedules() function")
    show.add_argument("--name", action="append", help="only show this entry (repeatable)")
    show.set_defaults(func=_show)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except TensorLangError as exc:
        print(f"tensorlang: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
