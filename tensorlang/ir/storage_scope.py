"""Storage scopes of buffers, and which of them each thread keeps a private copy of.

``wmma.matrix_a``/``wmma.matrix_b``/``wmma.accumulator`` are the tensor-core fragments of CUDA's
``nvcuda::wmma`` API (TVM's scopes of the same names). A fragment is owned by a warp, but like
``local`` storage it is never shared across the warps of a block, so bound inference and the
lowering treat it as per-thread storage; only the CUDA code generator and the emulator know the
warp-wide operations (``ir.wmma``) that fill, load, multiply and store fragments.
"""

from __future__ import annotations

WMMA_SCOPES = ("wmma.matrix_a", "wmma.matrix_b", "wmma.accumulator")
STORAGE_SCOPES = ("global", "shared", "local", "warp", *WMMA_SCOPES)


def is_thread_private(scope: str) -> bool:
    """Whether a buffer in ``scope`` has one copy per thread (or per warp, never per block)."""
    return scope == "local" or scope in WMMA_SCOPES
