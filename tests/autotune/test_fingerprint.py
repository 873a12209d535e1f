import json

import pytest

from tensorlang.autotune.fingerprint import DeviceFingerprint, cpu_fingerprint, gpu_fingerprint


def test_cpu_fingerprint_names_this_host_and_round_trips():
    fp = cpu_fingerprint()
    assert fp.kind == "cpu" and fp.name and fp.key.startswith("cpu-")
    back = DeviceFingerprint.from_json(json.loads(json.dumps(fp.to_json())))
    assert back == fp and back.key == fp.key


def test_gpu_fingerprints_differ_by_compute_capability_not_host():
    h200 = gpu_fingerprint("NVIDIA H200", (9, 0), {"cuda_driver": "12080"}, host="a")
    h200_b = gpu_fingerprint("NVIDIA H200", "sm_90", {"cuda_driver": "12080"}, host="b")
    a100 = gpu_fingerprint("NVIDIA A100-SXM4-80GB", (8, 0), {"cuda_driver": "12080"})
    assert h200.key == h200_b.key and " " not in h200.key
    assert h200.arch == ("sm_90",) and h200.same_device(h200_b)
    assert a100.key != h200.key and not a100.same_device(h200)


@pytest.mark.parametrize("bad", [None, 3, {"kind": "cpu"}, {"kind": "cpu", "name": "x", "arch": "avx"},
                                 {"kind": "gpu", "name": "x", "versions": {"cuda": 12}}])
def test_from_json_rejects_malformed(bad):
    with pytest.raises(ValueError):
        DeviceFingerprint.from_json(bad)
