"""``tvm._ffi.base``: the error class TVM code catches (tensorlang's base error)."""

from ..errors import TensorLangError as TVMError

__all__ = ["TVMError"]
