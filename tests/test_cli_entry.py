"""SIGTERM while the ``tensorlang`` command imports the package (before the command's own
handler is in place) ends the run as a SIGTERM during a run does: one line, exit status 143."""

import signal
import subprocess
import sys

from .test_entry import _CHILD


def test_sigterm_during_the_import_prints_one_line_and_exits_143():
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "importing"
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 143, (child.returncode, err)
    assert "Traceback" not in err and "tensorlang: terminated" in err
