"""TVM 0.12's tests/python/unittest/test_target_target.py, imports changed (the llvm / cuda parts).

Kept: generic-function dispatch, string parsing, the dict and JSON forms, bad dict attributes,
the host given in the target string (``cuda --host llvm``), as a second argument, through
``Target(target)`` and ``with_host``, and ``canon_target_and_host``.  Trimmed: target kinds
tensorlang does not generate code for (rocm, metal, vulkan, mali, intel_graphics, arm_cpu,
bifrost, vta, composite) and the exact ``str(target)`` TVM prints.  The NVIDIA tags
("nvidia/jetson-nano") run as TVM's test has them."""

import json

import pytest

import tensorlang as tvm
from tensorlang import te  # noqa: F401 - TVM's import
from tensorlang.target import Target


@tvm.target.generic_func
def mygeneric(data):
    # default generic function
    return data + 1


@mygeneric.register(["cuda", "gpu"])
def cuda_func(data):
    return data + 2


@mygeneric.register("cpu")
def cpu_func(data):
    return data + 10


def test_target_dispatch():
    with tvm.target.cuda():
        assert mygeneric(1) == 3

    with tvm.target.Target("cuda"):
        assert mygeneric(1) == 3

    with tvm.target.Target("llvm -device=arm_cpu"):
        assert mygeneric(1) == 11

    assert tvm.target.Target.current() is None
    assert mygeneric(1) == 2
    with pytest.raises(ValueError, match="already registered"):
        mygeneric.register("cpu")(lambda data: data)


def test_target_string_parse():
    target = tvm.target.Target("cuda -model=unknown -libs=cublas,cudnn")

    assert target.kind.name == "cuda"
    assert target.model == "unknown"
    assert set(target.keys) == set(["cuda", "gpu"])
    assert set(target.libs) == set(["cublas", "cudnn"])
    assert tvm.target.Target("llvm -device=arm_cpu").device_name == "arm_cpu"
    assert tvm.target.Target("llvm").device_name == ""


def test_target_llvm_options():
    target = tvm.target.Target("llvm -cl-opt=-unroll-threshold:uint=100,-unroll-count:uint=3")
    assert sorted(target.attrs["cl-opt"].split(",")) == ["-unroll-count:uint=3", "-unroll-threshold:uint=100"]


def test_target_config():
    """
    Test that constructing a target from a dictionary works.
    """
    # TVM's dict names "+neon" (an ARM feature) next to "-avx512f" (an x86 one); tensorlang checks
    # -mattr against the target's triple, so the port names x86 features for an x86 triple.
    target_config = {
        "kind": "llvm",
        "keys": ["arm_cpu", "cpu"],
        "device": "arm_cpu",
        "libs": ["cblas"],
        "system-lib": True,
        "mtriple": "x86_64-linux-gnu",
        "mattr": ["+avx2", "-avx512f"],
    }
    # Convert config dictionary to json string.
    target_config_str = json.dumps(target_config)
    # Test both dictionary input and json string.
    for config in [target_config, target_config_str]:
        target = tvm.target.Target(config)
        assert target.kind.name == "llvm"
        assert all([key in target.keys for key in ["arm_cpu", "cpu"]])
        assert target.device_name == "arm_cpu"
        assert target.libs == ["cblas"]
        assert "system-lib" in str(target)
        assert target.attrs["mtriple"] == "x86_64-linux-gnu"
        assert all([attr in target.attrs["mattr"] for attr in ["+avx2", "-avx512f"]])


def test_config_map():
    """
    Confirm that constructing a target with invalid
    attributes fails as expected.
    """
    target_config = {"kind": "llvm", "libs": {"a": "b", "c": "d"}}
    with pytest.raises(ValueError):
        tvm.target.Target(target_config)


def test_target_host_single_string():
    tgt = tvm.target.Target("cuda --host llvm")
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"
    for text in ["cuda --host=llvm", "cuda -host=llvm -arch=sm_80"]:
        tgt = tvm.target.Target(text)
        assert tgt.kind.name == "cuda" and tgt.host.kind.name == "llvm"
        assert "host" not in tgt.attrs
    with pytest.raises(ValueError, match="host"):
        tvm.target.Target("cuda --host")


def test_target_host_merge():
    tgt = tvm.target.Target(tvm.target.Target("cuda --host llvm"), None)
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"

    tgt = tvm.target.Target("cuda --host llvm")
    tgt = tvm.target.Target(tgt, tgt.host)
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"

    tgt = tvm.target.Target(tvm.target.Target("cuda --host llvm"), tvm.target.Target("llvm"))
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"

    # an explicit host wins over the one in the string
    tgt = tvm.target.Target("cuda --host=llvm", "llvm -mcpu=skylake")
    assert tgt.host.mcpu == "skylake"


def test_target_tvm_object():
    """Test creating Target by using TVM Object String type as input"""
    tgt = tvm.target.Target(tvm.target.Target("cuda --host llvm"))
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"


def test_target_with_host():
    tgt = tvm.target.Target("cuda")
    llvm = tvm.target.Target("llvm")
    tgt = tgt.with_host(llvm)
    assert tgt.kind.name == "cuda"
    assert tgt.host.kind.name == "llvm"


def test_canon_target_and_host():
    target = None
    host = None
    target, host = Target.canon_target_and_host(target, host)
    assert target is None
    assert host is None

    target = tvm.target.Target("cuda --host llvm")
    target, host = Target.canon_target_and_host(target)
    assert target.kind.name == "cuda"
    assert target.host.kind.name == "llvm"
    assert host.kind.name == "llvm"

    target, host = Target.canon_target_and_host("cuda", "llvm")
    assert target.kind.name == "cuda"
    assert target.host.kind.name == "llvm"
    assert host.kind.name == "llvm"


def test_target_tag_1():
    tgt = tvm.target.Target("nvidia/jetson-nano")
    assert tgt.kind.name == "cuda"
    assert tgt.attrs["arch"] == "sm_53"
    assert tgt.attrs["max_shared_memory_per_block"] == 49152
    assert tgt.attrs["max_threads_per_block"] == 1024
    assert tgt.attrs["thread_warp_size"] == 32
    assert tgt.attrs["registers_per_block"] == 32768


def test_target_tags_name_their_devices():
    """tensorlang's own checks of the tag table: every tag builds a Target, with its host where the
    device has a CPU of its own, and an unknown tag is refused by name."""
    tags = tvm.target.list_tags()
    assert tags["nvidia/nvidia-a100"].arch == "sm_80" and tags["nvidia/nvidia-a100"].tag == "nvidia/nvidia-a100"
    assert tags["nvidia/jetson-nano"].host.kind.name == "llvm" and tags["nvidia/nvidia-t4"].host is None
    assert tvm.target.Target("nvidia/nvidia-t4", host="llvm").host.kind.name == "llvm"
    with pytest.raises(tvm.TVMError, match="unknown target tag 'nvidia/gtx-9999'"):
        tvm.target.Target("nvidia/gtx-9999")
