"""The strides (ldm) the tensor-core templates give wmma::load_matrix_sync / store_matrix_sync:
CUDA requires a multiple of 16 bytes (8 halves, 4 floats or ints). The emulator runs any stride, so
the check reads the generated CUDA; every config also runs in ``cuda -emulate`` against numpy."""

from __future__ import annotations

import re

import numpy as np

import tensorlang as tvm
from tensorlang import autotvm, te

rng = np.random.default_rng()

_BYTES = {"half": 2, "float": 4, "int": 4}
_LOAD = re.compile(r"load_matrix_sync\([^,]*,\s*\((\w+)\*\)[^,]*,\s*(\d+)")
_STORE = re.compile(r"store_matrix_sync\(\((\w+)\*\)[^,]*,\s*[^,]*,\s*(\d+)")


def _ldms(src):
    return [(ty, int(ldm)) for pat in (_LOAD, _STORE) for ty, ldm in pat.findall(src)]


def test_dense_tensorcore_strides_are_16_byte_multiples():
    """Every offsetCS knob of the space (smallest tile, each fragment shape), float16 accumulators
    stored through shared memory: the ldm of each fragment load and store is a whole number of
    16-byte units, and the result matches numpy."""
    out_dtype = "float16"
    A = te.placeholder((32, 32), name="A", dtype="float16")
    B = te.placeholder((32, 32), name="B", dtype="float16")
    task = autotvm.task.create("dense_tensorcore.cuda", args=(A, B, None, out_dtype), target="cuda")
    space = task.config_space
    small = dict(block_row_warps=1, block_col_warps=1, warp_row_tiles=1, warp_col_tiles=1, chunk=1, vec=1,
                 offset=0)
    a = rng.uniform(-1, 1, (32, 32)).astype("float16")
    b = rng.uniform(-1, 1, (32, 32)).astype("float16")
    want = a.astype("float32") @ b.astype("float32").T
    checked = 0
    for idx in range(len(space)):
        cfg = space.get(idx)
        if any(cfg[k].val != v for k, v in small.items()):
            continue
        with tvm.target.Target("cuda"):
            s, args = task.instantiate(cfg)
        f = tvm.build(s, args, "cuda -emulate")
        ldms = _ldms(f.imported_modules[0].get_source())
        assert ldms, "no wmma loads or stores found in the source"
        for ty, ldm in ldms:
            assert ldm * _BYTES[ty] % 16 == 0, f"{cfg}: ldm {ldm} of {ty} is not a multiple of 16 bytes"
        d = np.zeros((32, 32), out_dtype)
        f(a, b, d)
        np.testing.assert_allclose(d.astype("float32"), want, rtol=1e-2, atol=1e-2, err_msg=str(cfg))
        checked += 1
    assert checked == 3 * 2  # wmma_m x offsetCS
