"""The ``tensorlang`` command's entry point, kept outside the package on purpose.

``import tensorlang`` takes about a second (LLVM, XGBoost, the operator library); a Ctrl-C in
that second raised KeyboardInterrupt inside the import, before the command's own handler
existed, and printed a traceback.  Importing the package from here ends such a run as the
command ends any interrupted run: one line on stderr, exit status 130 (143 for a SIGTERM).
"""

from __future__ import annotations

import signal
import sys


class _Terminated(KeyboardInterrupt):
    """SIGTERM before ``tensorlang.cli.main`` has its own handler: ends like Ctrl-C, with 143."""


def _terminate(signum: int, frame: object) -> None:
    raise _Terminated()


def main() -> int:
    """Run ``tensorlang.cli.main``; a Ctrl-C or SIGTERM before it has set up its own handling
    ends quietly (130, 143), as one during a run does."""
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        from tensorlang.cli import main as cli_main
        return cli_main()
    except KeyboardInterrupt as exc:  # only before or after cli_main's own handler was in place
        terminated = isinstance(exc, _Terminated)
        print(f"\ntensorlang: {'terminated' if terminated else 'interrupted'}", file=sys.stderr)
        return 143 if terminated else 130
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
