"""tensorlang.rpc: TVM 0.12's cross_compilation_and_rpc tutorial (its local demo) with only the
imports changed, and the session's file operations and refusals."""

from __future__ import annotations

import numpy as np
import pytest

import tensorlang as tvm
from tensorlang import rpc, te
from tensorlang.contrib import utils
from tensorlang.errors import TargetError

rng = np.random.default_rng()


def _add_one_library(tmp_name: str = "lib.tar"):
    n = tvm.runtime.convert(1024)
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    func = tvm.build(s, [A, B], target="llvm", name="add_one")
    temp = utils.tempdir()
    path = temp.relpath(tmp_name)
    func.export_library(path)
    return temp, path


@pytest.mark.parametrize("name", ["lib.tar", "lib.so"])
def test_cross_compilation_tutorial_local_demo(name):
    temp, path = _add_one_library(name)
    remote = rpc.LocalSession()
    remote.upload(path)
    func = remote.load_module(name)
    dev = remote.cpu()
    a = tvm.nd.array(rng.uniform(size=1024).astype("float32"), dev)
    b = tvm.nd.array(np.zeros(1024, dtype="float32"), dev)
    func(a, b)
    np.testing.assert_equal(b.numpy(), a.numpy() + 1)
    time_f = func.time_evaluator(func.entry_name, dev, number=10)
    assert time_f(a, b).mean > 0


def test_session_files():
    remote = rpc.LocalSession()
    payload = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    remote.upload(bytearray(payload), target="blob.bin")
    assert remote.download("blob.bin") == payload
    assert remote.listdir(".") == "blob.bin"
    remote.remove("blob.bin")
    assert remote.listdir(".") == ""
    with pytest.raises(TargetError, match="outside the session's working folder"):
        remote.upload(bytearray(b"x"), target="../escape.bin")
    with pytest.raises(TargetError, match="no file 'missing.so' was uploaded"):
        remote.load_module("missing.so")
    with pytest.raises(TargetError, match="needs target="):
        remote.upload(b"bytes")


def test_connect_to_this_machine_is_a_local_session_and_another_host_is_refused():
    temp, path = _add_one_library()
    with pytest.warns(UserWarning, match="no RPC server"):
        remote = rpc.connect("127.0.0.1", 9090)
    remote.upload(path)
    func = remote.load_module("lib.tar")
    a = rng.uniform(size=1024).astype("float32")
    b = np.zeros(1024, "float32")
    func(a, b)
    np.testing.assert_equal(b, a + 1)
    with pytest.raises(TargetError, match="cannot run on the host '10.77.1.162'"):
        rpc.connect("10.77.1.162", 9090)
    tracker = rpc.connect_tracker("localhost", 9190)
    with pytest.warns(UserWarning):
        assert isinstance(tracker.request("rasp3b"), rpc.RPCSession)
    with pytest.raises(TargetError, match="no RPC tracker"):
        rpc.connect_tracker("10.0.0.1", 9190)
    with pytest.raises(TargetError, match="no RPC server"):
        rpc.Server(port=9090)
