"""TVM's Device attributes (``dev.compute_version`` ...): None where no GPU answers, the driver's
figures where one does (here the fake driver of tests/fake_cuda_driver.py, in a fresh process)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tensorlang as tvm
import tensorlang.testing

ROOT = Path(__file__).resolve().parents[2]
ATTRS = ("exist", "compute_version", "device_name", "max_threads_per_block", "max_shared_memory_per_block",
         "multi_processor_count", "warp_size")


def test_cpu_device_has_no_gpu_attributes():
    dev = tvm.cpu(0)
    assert dev.exist
    assert [getattr(dev, a) for a in ATTRS[1:]] == [None] * (len(ATTRS) - 1)


def test_gpu_attributes_come_from_the_driver():
    env = {**os.environ, "TENSORLANG_CUDA_DRIVER": "tests.fake_cuda_driver", "TENSORLANG_CUDA_RUNTIME": "cuda-python",
           "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    code = ("import tensorlang as tvm; d = tvm.cuda(0); "
            f"print(repr([getattr(d, a) for a in {ATTRS!r}]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    exist, version, name, threads, shared, sms, warp = eval(out)  # noqa: S307 - our own repr of a list
    assert exist is True and version == "9.0" and name == "Fake H200" and warp == 32
    assert threads > 0 and shared > 0 and isinstance(sms, int)


def test_absent_gpu_answers_none(monkeypatch):
    monkeypatch.setenv("TENSORLANG_CUDA_DRIVER", "tensorlang_no_such_driver_module")
    dev = tvm.cuda(3)
    assert not dev.exist  # no binding loads: every attribute is None, as TVM's are
    assert [getattr(dev, a) for a in ATTRS[1:]] == [None] * (len(ATTRS) - 1)


def test_tvm_device_kinds_without_a_runtime_exist_as_absent():
    """TVM code builds tvm.device("opencl") and asks .exist before running there: it is False here."""
    for kind, code in (("opencl", 4), ("sdaccel", 4), ("rocm", 10), ("vulkan", 7), ("metal", 8)):
        dev = tvm.device(kind, 1)
        assert (dev.exist, dev.device_type, dev.device_id) == (False, code, 1)
        assert not tvm.testing.device_enabled(kind)
    assert tvm.device(4).kind == "opencl" and tvm.device("llvm").exist
    with pytest.raises(tvm.ArgumentError, match="unknown device 'bogus'"):
        tvm.device("bogus")
