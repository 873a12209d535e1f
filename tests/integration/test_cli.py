"""The tensorlang command line: --version and show."""

import subprocess
import sys
from pathlib import Path

import numpy as np

import tensorlang as tl
from tensorlang import te
from tensorlang.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys):
    try:
        main(["--version"])
    except SystemExit as exc:
        assert exc.code == 0
    assert tl.__version__ in capsys.readouterr().out


def test_show_prints_lowered_ir(capsys):
    assert main(["show", str(ROOT / "examples" / "matmul.py"), "--name", "matmul_blocked_128"]) == 0
    out = capsys.readouterr().out
    assert "// matmul_blocked_128" in out and "parallel" in out and "ramp(" in out


def test_show_reports_missing_convention(tmp_path, capsys):
    f = tmp_path / "empty.py"
    f.write_text("x = 1\n")
    assert main(["show", str(f)]) == 1
    assert "defines no schedules()" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "tensorlang.cli", "show", str(ROOT / "examples" / "vadd.py")],
                         capture_output=True, text=True, check=True).stdout
    assert "func vadd" in out


def test_target_context_and_nd_arrays():
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] * 3.0, name="B")
    s = te.create_schedule(B.op)
    with tl.target.Target("llvm"):
        f = tl.build(s, [A, B], name="triple")
    rng = np.random.default_rng()
    a = tl.nd.array(rng.random(8).astype("float32"), tl.cpu(0))
    b = tl.nd.empty((8,), "float32")
    f(a, b)
    np.testing.assert_allclose(b.numpy(), a.numpy() * 3, rtol=1e-6)


def test_help_texts_explain_every_option_with_defaults_and_examples(capsys):
    """Every subcommand and option has a help text of its own; tune's gives its defaults and
    examples; bad numbers are command-line mistakes (exit 2) naming the option."""
    import argparse

    import pytest

    from tensorlang.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"show", "tune", "best", "plot", "compare", "build"}
    for name, command in sub.choices.items():
        assert command.description and "example" in (command.epilog or ""), name
        for action in command._actions:
            assert action.help and len(action.help) > 8, (name, action.dest)
    tune = sub.choices["tune"].format_help()
    for option, default in (("--trials", "64"), ("--confirm-top", "3"), ("--confirm-rounds", "3"),
                            ("--number", "1"), ("--min-repeat-ms", "10"), ("--repeat", "3"), ("--run-timeout", "10")):
        assert option in tune
        text = " ".join(tune.split("options:", 1)[1].split("\n  " + option + " ", 1)[1].split("\n  --", 1)[0].split())
        assert f"(default: {default})" in text, option
    assert "tensorlang tune --target=llvm examples/matmul.py" in tune and "resume" in tune.lower()
    for bad in (["--confirm-top", "-1"], ["--trials", "many"], ["--run-timeout", "0"], ["--repeat", "0"],
                ["--min-repeat-ms", "nan"], ["--min-repeat-ms", "-1"]):
        with pytest.raises(SystemExit) as exc:
            main(["tune", *bad, "x.py"])
        assert exc.value.code == 2
        assert bad[0] in capsys.readouterr().err


_FAILING_AND_WORKING = '''
from tensorlang import te, tir


def bad(n):
    A = te.placeholder((n,), name="A")
    return [A, te.compute((n,), lambda i: tir.call_pure_extern("float32", "no_such_fn", A[i]), name="B")]


def good(n):
    A = te.placeholder((n,), name="A")
    return [A, te.compute((n,), lambda i: A[i] * 2.0 + 1.0, name="B")]


def computations():
    return {"bad": (bad, (256,)), "good": (good, (256,))}
'''


def test_tune_auto_names_a_computation_with_no_working_candidate(tmp_path, capsys):
    # It exited 0 with "bad 16t -" as the only sign, after the gradient spent every round on it.
    src = tmp_path / "mixed.py"
    src.write_text(_FAILING_AND_WORKING)
    log = tmp_path / "mixed.json"
    status = main(["tune", "--auto", "--target=llvm", str(src), "--trials", "4", "--log", str(log),
                   "--early-stopping", "8"])
    err = capsys.readouterr().err
    assert status == 1
    assert "auto/bad(256,): no working candidate (runtime" in err and "calls 'no_such_fn'" in err


_FAILING_TEMPLATE = '''
from tensorlang import autotune, te, tir


@autotune.template("cli/bad_extern")
def bad_extern(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: tir.call_pure_extern("float32", "no_such_fn", A[i]), name="B")
    s = te.create_schedule(B.op)
    cfg = autotune.get_config()
    cfg.define_split("t", B.op.axis[0], num_outputs=2)
    cfg["t"].apply(s, B, B.op.axis[0])
    return s, [A, B]


def tasks(target):
    return [autotune.task.create("cli/bad_extern", (64,), target)]
'''


def test_tune_names_a_template_task_whose_trials_all_failed_and_exits_1(tmp_path, capsys):
    # It exited 0 with "-" in the summary as the only sign; a rerun on that log says so too.
    src = tmp_path / "bad.py"
    src.write_text(_FAILING_TEMPLATE)
    log = tmp_path / "bad.json"
    for _ in range(2):
        status = main(["tune", "--target=llvm", str(src), "--trials", "2", "--log", str(log)])
        err = capsys.readouterr().err
        assert status == 1
        assert "cli/bad_extern(64,): no working config (" in err and "calls 'no_such_fn'" in err


def test_a_failed_tune_leaves_no_empty_log_behind(tmp_path, capsys):
    src = tmp_path / "none.py"
    src.write_text("x = 1\n")
    log = tmp_path / "none.json"
    assert main(["tune", "--target=llvm", str(src), "--log", str(log)]) != 0
    assert "defines no tasks(target)" in capsys.readouterr().err
    assert not log.exists()
