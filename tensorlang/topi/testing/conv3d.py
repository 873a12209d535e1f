"""numpy references for 3-D convolutions (obvious loops over the kernel window)."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from ..utils import get_pad_tuple3d


def _triple(value: Any) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * 3


def conv3d_ncdhw_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, groups: int = 1,
                        dilation: Any = 1) -> np.ndarray:
    """NCDHW input, (K, C // groups, KD, KH, KW) filter -> (N, K, OD, OH, OW)."""
    st, dil = _triple(stride), _triple(dilation)
    ks = w_np.shape[2:]
    pads = get_pad_tuple3d(padding, [(k - 1) * d + 1 for k, d in zip(ks, dil)])
    ap = np.pad(a_np, [(0, 0), (0, 0)] + [(pads[i], pads[i + 3]) for i in range(3)])
    outs = [(ap.shape[2 + i] - (ks[i] - 1) * dil[i] - 1) // st[i] + 1 for i in range(3)]
    k, cg = w_np.shape[:2]
    per = k // groups
    out = np.zeros((a_np.shape[0], k, *outs), dtype=np.result_type(a_np.dtype, w_np.dtype))
    for g in range(groups):
        xs = ap[:, g * cg:(g + 1) * cg]
        for off in itertools.product(*(range(n) for n in ks)):
            win = xs[(slice(None), slice(None), *(slice(o * d, o * d + (n - 1) * s + 1, s)
                                                  for o, d, n, s in zip(off, dil, outs, st)))]
            out[:, g * per:(g + 1) * per] += np.einsum("ncdhw,kc->nkdhw", win, w_np[g * per:(g + 1) * per][(
                slice(None), slice(None), *off)])
    return out


def conv3d_ndhwc_python(a_np: np.ndarray, w_np: np.ndarray, stride: Any, padding: Any, groups: int = 1) -> np.ndarray:
    """NDHWC input, (KD, KH, KW, C // groups, K) filter -> NDHWC output."""
    out = conv3d_ncdhw_python(a_np.transpose(0, 4, 1, 2, 3), w_np.transpose(4, 3, 0, 1, 2), stride, padding, groups)
    return out.transpose(0, 2, 3, 4, 1)
