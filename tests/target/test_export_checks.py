"""Exported libraries carry a checksum trailer: a truncated or modified .so is refused with a
BuildError before it is mapped (mapping it would crash the process with SIGBUS)."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import BuildError
from tensorlang.runtime import load_module


def test_truncated_or_modified_libraries_are_refused_before_mapping(tmp_path, rng):
    n = 64
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 2.0, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], "llvm", name="twice")
    path = tmp_path / "twice.so"
    f.export_library(str(path))
    data = path.read_bytes()
    a = rng.standard_normal(n).astype("float32")
    b = np.zeros(n, "float32")
    load_module(path)(a, b)
    np.testing.assert_allclose(b, a * 2)
    # Damaged copies go to new files: rewriting the library this process has mapped would
    # change the mapped pages under the loader's feet (a crash at exit, not the check under test).
    for i, bad in enumerate((data[: len(data) // 2], data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])):
        bad_path = tmp_path / f"bad{i}.so"
        bad_path.write_bytes(bad)
        with pytest.raises(BuildError, match="truncated|damaged"):
            load_module(bad_path)


@pytest.mark.parametrize("target", ["llvm", "cuda -emulate"])
def test_export_into_a_folder_or_a_missing_folder_is_an_argument_error(tmp_path, target):
    # A folder gave a raw IsADirectoryError naming a temporary file.
    from tensorlang.errors import ArgumentError
    A = te.placeholder((8,), name="A")
    B = te.compute((8,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    if target != "llvm":
        s[B].bind(B.op.axis[0], te.thread_axis("threadIdx.x"))
    f = tl.build(s, [A, B], target)
    with pytest.raises(ArgumentError, match="is a folder; give the path of the file"):
        f.export_library(tmp_path)
    with pytest.raises(ArgumentError, match="does not exist"):
        f.export_library(tmp_path / "no" / "lib.so")
