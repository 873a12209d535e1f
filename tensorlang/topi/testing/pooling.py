"""numpy reference for adaptive pooling (1-D, 2-D or 3-D, channels first or last)."""

from __future__ import annotations

from typing import Any

import numpy as np


def adaptive_pool(np_data: np.ndarray, out_size: Any, pool_type: str, layout: str) -> np.ndarray:
    """Max or mean over windows [floor(i * n / o), ceil((i + 1) * n / o)) of each spatial axis (D, H, W
    of ``layout``) giving ``out_size`` (an int repeats for every spatial axis; None keeps the size)."""
    spatial = [k for k, d in enumerate(layout) if d in "DHW"]
    sizes = [out_size] * len(spatial) if isinstance(out_size, int) else list(out_size)
    sizes = [np_data.shape[ax] if o is None else int(o) for o, ax in zip(sizes, spatial)]
    reduce = np.mean if pool_type == "avg" else np.max
    x = np.moveaxis(np_data, spatial, range(np_data.ndim - len(spatial), np_data.ndim))
    inner = x.shape[-len(spatial):]
    out = np.empty(x.shape[:-len(spatial)] + tuple(sizes), dtype=np_data.dtype)
    axes = tuple(range(-len(spatial), 0))
    for pos in np.ndindex(*sizes):
        window = tuple(slice((i * n) // o, -((-(i + 1) * n) // o)) for i, n, o in zip(pos, inner, sizes))
        out[(Ellipsis, *pos)] = reduce(x[(Ellipsis, *window)], axis=axes)
    return np.moveaxis(out, range(out.ndim - len(spatial), out.ndim), spatial)
