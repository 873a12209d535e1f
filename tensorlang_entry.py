"""The ``tensorlang`` command's entry point, kept outside the package on purpose.

``import tensorlang`` takes about a second (LLVM, XGBoost, the operator library); a Ctrl-C in
that second raised KeyboardInterrupt inside the import, before the command's own handler
existed, and printed a traceback.  Importing the package from here ends such a run as the
command ends any interrupted run: one line on stderr, exit status 130.
"""

from __future__ import annotations

import sys


def main() -> int:
    """Run ``tensorlang.cli.main``; a Ctrl-C before it has set up its own handling ends quietly."""
    try:
        from tensorlang.cli import main as cli_main
        return cli_main()
    except KeyboardInterrupt:  # only before or after cli_main's own handler was in place
        print("\ntensorlang: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
