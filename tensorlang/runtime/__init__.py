"""Runtime helpers: loading exported libraries and TVM-style device arrays."""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import weakref
from typing import Any

from ..contrib.cc import create_shared
from ..errors import BuildError
from ..target.backends import load_module as _load_module
from ..target.llvm import object_from_ir
from ..target.llvm.runtime import default_num_threads
from ..target.timing import ProfileResult
from ..tvm_paths import TVM_MODULE_NAMES
from .convert import convert
from .enabled import enabled
from .names import DataType, DataTypeCode, Module, PackedFunc, String, const
from .ndarray import Device, NDArray, array, cpu, cuda, device, empty, gpu
from .packed import get_global_func, list_global_func_names, register_func


def load_module(path: str | os.PathLike, fmt: str = "") -> Any:
    """Load a module written by any backend's ``export_library`` (``tl.runtime.load_module``), or
    an object file that ``Module.save("x.o")`` wrote: as TVM does, it is linked into a shared
    library first (``contrib.cc.create_shared``, which needs a C compiler); LLVM IR or bitcode
    that ``Module.save("x.ll")``/``("x.bc")`` wrote is compiled for this machine, then linked.  ``fmt`` (TVM's
    optional format, default: from the file's suffix) "o" reads an object file of any name; the
    file's own header decides every other format."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise BuildError(f"load_module expects the path of a file written by export_library, got {path!r}")
    if not isinstance(fmt, str):
        raise BuildError(f"load_module(path, fmt): fmt must be a format name such as 'so' or 'o', got {fmt!r}")
    suffix = os.path.splitext(os.fsdecode(path))[1].lstrip(".")
    if fmt in ("o", "obj", "ll", "bc") or (not fmt and suffix in ("o", "ll", "bc")):
        # The library stays in its temporary folder, as TVM's does: the module maps it, and
        # export_library copies it.
        folder = tempfile.mkdtemp(prefix="tensorlang-load-")
        library = os.path.join(folder, "module.so")
        objects = [os.fsdecode(path)]
        try:
            if (fmt or suffix) in ("ll", "bc"):  # LLVM IR that Module.save wrote: compiled for this machine first
                objects = [os.path.join(folder, "module.o")]
                with open(objects[0], "wb") as f:
                    f.write(object_from_ir(path))
            create_shared(library, objects)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        module = _load_module(library)
        # the folder goes with the module's library (the mapping outlives the file)
        weakref.finalize(getattr(module, "_library", module), shutil.rmtree, folder, True)
        return module
    return _load_module(path)


def num_threads() -> int:
    """TVM's ``runtime.num_threads()``: the threads a parallel loop of a module built or loaded
    from now on uses (TENSORLANG_NUM_THREADS, TVM_NUM_THREADS or OMP_NUM_THREADS when set, else
    the processors this process may run on; ``Module.set_num_threads`` changes one module's)."""
    return default_num_threads()


def __getattr__(name: str) -> Any:
    # TVM's runtime submodules (tvm.runtime.module.enabled, tvm.runtime.ndarray ...) as attributes,
    # as TVM imports them with the package: tensorlang keeps their names here (tvm_paths' views).
    if name in TVM_MODULE_NAMES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module '{__name__}' has no attribute '{name}'")


__all__ = ["convert", "enabled", "DataType", "DataTypeCode", "Module", "PackedFunc", "String", "const",
           "get_global_func", "list_global_func_names", "register_func", "Device", "NDArray", "ProfileResult",
           "array", "cpu", "cuda", "device", "empty", "gpu", "load_module", "num_threads"]
