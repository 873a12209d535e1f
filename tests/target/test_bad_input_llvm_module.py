"""A compiled CPU module's save refuses a path it cannot write, naming it, before writing
(not an OSError or TypeError from inside)."""

from __future__ import annotations

import llvmlite.binding as llvm
import numpy as np
import pytest

import tensorlang as tl
from tensorlang import te
from tensorlang.errors import ArgumentError


def test_module_save_to_a_bad_path(tmp_path):
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] * 2.0, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B])
    with pytest.raises(ArgumentError, match="Module.save needs a file path, got None"):
        f.save(None)
    with pytest.raises(ArgumentError, match="Module.save: the folder .*nope.* does not exist"):
        f.save(str(tmp_path / "nope" / "f.ll"))
    f.save(str(tmp_path / "f.ll"))
    assert "define" in (tmp_path / "f.ll").read_text()
    a, b = np.random.default_rng().random(4, dtype="float32"), np.zeros(4, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 2, rtol=1e-6)


def test_module_save_as_llvm_bitcode(tmp_path):
    """Module.save("f.bc") writes the optimized module as LLVM bitcode (TVM's save offers it),
    which LLVM reads back with the kernel in it; the module still runs."""
    A = te.placeholder((16,), name="A")
    B = te.compute((16,), lambda i: A[i] * 2.0 + 1.0, name="B")
    f = tl.build(te.create_schedule(B.op), [A, B], name="twice_plus_one")
    f.save(str(tmp_path / "f.bc"))
    data = (tmp_path / "f.bc").read_bytes()
    assert data[:2] == b"BC"
    back = llvm.parse_bitcode(data)
    assert any(fn.name == "twice_plus_one" for fn in back.functions if not fn.is_declaration)
    a, b = np.random.default_rng().random(16, dtype="float32"), np.zeros(16, "float32")
    f(a, b)
    np.testing.assert_allclose(b, a * 2 + 1, rtol=1e-6)
