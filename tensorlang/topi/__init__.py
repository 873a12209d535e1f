"""Tensor operator inventory (TVM's ``topi``): declarations of common ops as ``te.compute``
stages, helpers for writing schedules, numpy references (``topi.testing``) and AutoTVM
templates for x86 and CUDA (``topi.x86``, ``topi.cuda``).

    from tensorlang import topi
    C = topi.nn.conv2d_nchw(A, W, stride=1, padding=1)
"""

from __future__ import annotations

import importlib

# Importing cuda and x86 registers their AutoTVM templates, as importing TVM's topi does.
from . import (
    absent_targets,
    array_ops,
    broadcast,
    cuda,
    fixed_point,
    generic,
    image,
    index_ops,
    math,
    nn,
    reduction,
    scan,
    tag,
    testing,
    transform,
    utils,
    vision,
    x86,
)
from . import einsum as _einsum_ops  # the function einsum (below) takes the module's name, as in TVM
from . import searchsorted as _searchsorted_ops  # likewise the function searchsorted
from . import sort as _sort_ops  # likewise the function sort
from .advanced_index import adv_index
from .argwhere import argwhere  # the function takes the module's name, as in TVM
from .array_ops import *  # noqa: F403 - array_ops.__all__
from .broadcast import *  # noqa: F403 - broadcast.__all__
from .dynamic_slice import dynamic_strided_slice
from .einsum import *  # noqa: F403 - einsum.__all__ (einsum, matmul)
from .fixed_point import *  # noqa: F403 - fixed_point.__all__
from .index_ops import *  # noqa: F403 - index_ops.__all__
from .math import *  # noqa: F403 - math.__all__
from .reduction import *  # noqa: F403 - reduction.__all__
from .scan import *  # noqa: F403 - scan.__all__ (cumsum, cumprod)
from .searchsorted import *  # noqa: F403 - searchsorted.__all__
from .signal import dft, stft
from .sort import *  # noqa: F403 - sort.__all__
from .sparse_fill_empty_rows import sparse_fill_empty_rows  # the function takes the module's name, as in TVM
from .sparse_reshape import sparse_reshape  # likewise
from .transform import *  # noqa: F403 - transform.__all__
from .unique import unique  # likewise
from .utils import get_const_int, get_const_tuple  # TVM's topi has them at its top (topi.get_const_tuple)

__all__ = ["generic", "image", "nn", "tag", "testing", "utils", "vision", "x86", "cuda",
           *array_ops.__all__, *broadcast.__all__, *_einsum_ops.__all__, *index_ops.__all__, *math.__all__,
           *fixed_point.__all__, "sparse_fill_empty_rows", "sparse_reshape",
           *reduction.__all__, *scan.__all__, *_searchsorted_ops.__all__, *_sort_ops.__all__, *transform.__all__,
           "argwhere", "unique", "stft", "dft", "adv_index", "dynamic_strided_slice",
           "get_const_tuple", "get_const_int"]


def __getattr__(name: str) -> object:
    # topi.sparse (test-matrix helpers) needs scipy: it loads on first use, not with topi.
    if name == "sparse":
        return importlib.import_module(".sparse", __name__)
    if name in absent_targets.NAMES:  # topi.hls, topi.mali ...: names that refuse when called
        return absent_targets.AbsentTarget(name)
    if name == "gpu":  # TVM's topi.gpu holds CUDA-style schedules; tensorlang's are topi.cuda
        return importlib.import_module(".cuda", __name__)
    raise AttributeError(f"module 'tensorlang.topi' has no attribute '{name}'")
