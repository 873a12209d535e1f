"""A CUDA module's files as TVM code writes them: save() writes device code (.ptx, .cu) and
refuses an object file naming export_library; load_module reads saved device code back as a
device module that import_module attaches."""

from __future__ import annotations

import pytest

import tensorlang as tvm
from tensorlang import te
from tests.target.cuda.helpers import needs_nvrtc


def _vadd():
    n = te.var("n")
    A, B = te.placeholder((n,), name="A"), te.placeholder((n,), name="B")
    C = te.compute(A.shape, lambda i: A[i] + B[i], name="C")
    s = te.create_schedule(C.op)
    bx, tx = s[C].split(C.op.axis[0], factor=64)
    s[C].bind(bx, te.thread_axis("blockIdx.x"))
    s[C].bind(tx, te.thread_axis("threadIdx.x"))
    return s, [A, B, C]


@needs_nvrtc
def test_cuda_module_saves_device_code_and_refuses_an_object_file(tmp_path):
    s, args = _vadd()
    m = tvm.build(s, args, target=tvm.target.Target("cuda -arch=sm_90", host="llvm"), name="myadd")
    m.save(str(tmp_path / "myadd.ptx"))
    m.save(str(tmp_path / "myadd.cu"))
    with pytest.raises(tvm.TVMError, match="export_library"):
        m.save(str(tmp_path / "myadd.o"))
    ptx = tvm.runtime.load_module(str(tmp_path / "myadd.ptx"))
    cu = tvm.runtime.load_module(str(tmp_path / "myadd.cu"))
    assert ptx.type_key == "cuda" and ".entry" in ptx.get_source() and "__global__" in cu.get_source()
    assert ptx.get_source() == m.get_source("ptx")
    m.import_module(cu)
    assert m.imported_modules[-1] is cu
    with pytest.raises(tvm.TVMError, match="import_module expects another module"):
        m.import_module("myadd.ptx")


def test_unknown_files_are_still_refused(tmp_path):
    bad = tmp_path / "x.bin"
    bad.write_bytes(b"not a module")
    with pytest.raises(tvm.TVMError, match="not written by tensorlang's export_library"):
        tvm.runtime.load_module(str(bad))
