"""The console script's entry (tensorlang_entry): Ctrl-C while the package imports ends quietly."""

import signal
import subprocess
import sys

# A child that announces the import of tensorlang.cli and makes it slow, so that the interrupt
# surely lands inside it.
_CHILD = r"""
import sys, time, importlib.abc
class Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorlang.cli":
            print("importing", flush=True)
            time.sleep(30)
        return None
sys.meta_path.insert(0, Slow())
sys.argv = ["tensorlang", "--version"]
from tensorlang_entry import main
sys.exit(main())
"""


def test_ctrl_c_during_the_import_prints_one_line_and_exits_130():
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        assert child.stdout.readline().strip() == "importing"
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert child.returncode == 130, err
    assert "Traceback" not in err and "tensorlang: interrupted" in err


def test_the_entry_runs_the_command():
    done = subprocess.run([sys.executable, "-c", "import sys; from tensorlang_entry import main; sys.exit(main())",
                           "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("tensorlang "), done.stderr
