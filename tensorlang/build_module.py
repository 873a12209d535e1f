"""``tl.lower`` and ``tl.build``: from a schedule to loop IR, and from loop IR to a module."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .arith.simplify import simplify
from .arith.structural import structural_key
from .errors import ArgumentError, LoweringError, TargetError, TensorLangError
from .ir.function import PrimFunc
from .ir.passes.lower_intrin import lower_intrinsics
from .ir.transform import PassContext
from .lowering import lower_schedule
from .schedule.schedule import Schedule, create_schedule
from .target.abi import ENTRY_PREFIX, METADATA_SYMBOL
from .target.backends import get_backend
from .target.target import Target, as_target
from .te.depth import deep_expressions
from .te.expr import IntImm, Var, convert
from .te.tensor import PlaceholderOp, Tensor


def lower(inputs: Schedule | PrimFunc, args: Sequence[Any] | None = None, name: str = "main",
          binds: Any = None, simple_mode: bool = False) -> PrimFunc:
    """Lower a schedule to loop IR; ``str()`` of the result is readable IR.

    ``simple_mode`` is accepted for TVM code: the IR text is always the simple form. ``binds``
    (TVM's buffer layouts for arguments) may only repeat the dense, C-contiguous layout every
    argument has here (``_check_binds``)."""
    _check_binds(binds)
    if not isinstance(simple_mode, bool):
        raise ArgumentError(f"lower(simple_mode=...) must be a bool, got {simple_mode!r}")
    _check_inputs(inputs, "lower")
    _check_name(name, "lower")
    if isinstance(inputs, PrimFunc):
        return inputs
    if args is None:
        raise TargetError("lower(s, args): the argument tensors are required")
    _check_args_list(args, "lower")
    # A schedule with GPU thread bindings lowers for the GPU (with its shared-memory barriers).
    gpu = any(attr.bind_thread is not None for st in inputs.stages for attr in st.iter_var_attrs.values())
    with deep_expressions(f"lower '{name}'"):
        return lower_schedule(inputs, args, name=name, target_kind="cuda" if gpu else "llvm")


def create_prim_func(ops: Sequence[Any], index_dtype_override: str | None = None) -> PrimFunc:
    """TVM's ``te.create_prim_func``: the PrimFunc named "main" that computes the tensors of
    ``ops`` (its parameters, placeholders and computed tensors in that order) under a plain
    schedule, ready for ``IRModule({...})`` and ``build``.  (TVM's TensorIR ``tir.Schedule``,
    which such functions are made for, does not exist here: schedule with ``te.create_schedule``.)"""
    tensors = list(ops)
    if not tensors or not all(isinstance(t, Tensor) for t in tensors):
        raise ArgumentError(f"create_prim_func: ops must be a non-empty list of tensors, got {ops!r}")
    computed = [t for t in tensors if not isinstance(t.op, PlaceholderOp)]
    if not computed:
        raise ArgumentError("create_prim_func: ops hold only placeholders; list the computed tensors too")
    if index_dtype_override not in (None, "int32", "int64"):
        raise ArgumentError(f"create_prim_func: index_dtype_override must be 'int32' or 'int64', "
                            f"got {index_dtype_override!r}")
    return lower(create_schedule([t.op for t in computed]), tensors, name="main")


def _check_inputs(inputs: Any, what: str) -> None:
    if not isinstance(inputs, (Schedule, PrimFunc)):
        raise TargetError(f"{what} expects a schedule (te.create_schedule(...)) or a lowered function, "
                          f"got {inputs!r}")


def _check_name(name: Any, what: str) -> None:
    """The function's name becomes a symbol of the compiled code: printable ASCII, not empty."""
    if not isinstance(name, str) or not name or not name.isascii() or not name.isprintable():
        raise TargetError(f"{what}(name=...) must be a non-empty string of printable ASCII characters (the "
                          f"function's symbol), got {name!r}")
    if name.startswith(ENTRY_PREFIX) or name == METADATA_SYMBOL:
        raise TargetError(f"{what}(name={name!r}): names starting with '{ENTRY_PREFIX}' (and "
                          f"'{METADATA_SYMBOL}') are the symbols of tensorlang's runtime; choose another name")


def _check_binds(binds: Any) -> None:
    """TVM's ``binds={tensor: decl_buffer(...)}``: buffers that are what tensorlang gives every
    argument anyway (dense, row-major, of the tensor's shape and dtype, at offset 0 or an offset
    left to an ``offset_factor``) are accepted; any other layout is refused by name."""
    if not binds:
        return
    if not isinstance(binds, dict):
        raise LoweringError(f"binds must be a dict of tensor -> tir.decl_buffer(...), got {type(binds).__name__}")
    for tensor, buf in binds.items():
        where = f"binds[{getattr(tensor, 'name', tensor)!r}]"
        shape = getattr(tensor, "shape", None)
        if shape is None or not hasattr(buf, "strides"):
            raise LoweringError(f"{where}: expected a tensor bound to a tir.decl_buffer, got {buf!r}")
        same_shape = len(buf.shape) == len(shape) and all(
            structural_key(simplify(convert(a) - convert(b))) == structural_key(convert(0))
            for a, b in zip(buf.shape, shape))
        offset_free = isinstance(buf.elem_offset, Var) or (isinstance(buf.elem_offset, IntImm)
                                                           and buf.elem_offset.value == 0)
        if buf.strides or not offset_free or not same_shape or buf.dtype != tensor.dtype:
            raise LoweringError(
                f"{where}: buffer '{buf.name}' (shape {tuple(buf.shape)}, {buf.dtype}, strides "
                f"{tuple(buf.strides) or 'compact'}, offset {buf.elem_offset}) is not the dense, row-major buffer "
                f"of {tuple(shape)} {tensor.dtype} every argument gets here; strided or offset arguments are not "
                "available (drop binds, or copy into a dense array)")


def _check_args_list(args: Any, what: str) -> None:
    """``args`` is a list: one tensor alone would be iterated (and refused) element by element."""
    if isinstance(args, Tensor):
        raise TargetError(f"{what}(s, args): args must be the list of argument tensors (and te.vars), got the "
                          f"tensor {args.name} alone; pass [..., {args.name}]")


def _check_no_thread_binding(sch: Schedule, target: Target) -> None:
    for st in sch.stages:
        for iv, attr in st.iter_var_attrs.items():
            if attr.bind_thread is not None:
                raise TargetError(
                    f"stage {st.op.name}: axis {iv.name} is bound to {attr.bind_thread.thread_tag}, which needs a "
                    f"GPU target (target='cuda'); for target '{target}' use parallel/vectorize instead")


def _check_target_host(target_host: Any) -> None:
    if target_host is None:
        return
    host = Target(target_host)
    if host.kind.name != "llvm":
        raise TargetError(f"target_host must be an LLVM CPU target such as 'llvm', got '{host}'")
    get_backend("llvm").parse_target(str(host))  # an unknown option fails here


def _one_target_module(inputs: Mapping[Any, Any], target: Any) -> tuple[Any, Any]:
    """The module and target of TVM's ``build({target: module})``: one target only, since a
    tensorlang module is one function for one device."""
    if len(inputs) != 1:
        raise TargetError(f"build({{target: module}}) takes one target here (a module is one function for one "
                          f"device), got {len(inputs)}: {', '.join(map(str, inputs))}")
    (key, module), = inputs.items()
    if target is not None and str(as_target(target)) != str(as_target(key)):
        raise TargetError(f"build: the mapping names target '{key}' but target='{target}' was also given")
    return module, key


def build(inputs: Schedule | PrimFunc, args: Sequence[Any] | None = None, target: str | Target | None = None,
          target_host: Any = None, name: str = "default_function", binds: Any = None, *, jit: bool = True) -> Any:
    """Compile a schedule (or a lowered PrimFunc) into a callable module for ``target``
    (default: the current ``with Target(...)`` target, else ``llvm``).  ``jit=False`` skips
    loading the code into this process: the module can only ``export_library``.

    ``target_host`` (as in TVM) may name an LLVM CPU target or be None: an LLVM build is all
    host code, and a CUDA module's host side is the Python runtime driving the GPU.  ``binds``
    as in ``lower``."""
    _check_target_host(target_host)
    _check_binds(binds)
    if isinstance(inputs, Mapping):  # TVM's {target: module} form
        inputs, target = _one_target_module(inputs, target)
    _check_inputs(inputs, "build")
    _check_name(name, "build")
    tgt = as_target(target)
    backend = get_backend(tgt.kind.name)
    parsed = backend.parse_target(str(tgt))  # a wrong option fails before any lowering
    if PassContext.current().config.get("tir.instrument_bound_checkers") and \
            "bounds_check" in {f.name for f in dataclasses.fields(parsed)}:
        # TVM's switch for run-time checks of every buffer access: the target's -bounds-check
        parsed = dataclasses.replace(parsed, bounds_check=True)
    if isinstance(inputs, Schedule):
        if not backend.BINDS_THREADS:
            _check_no_thread_binding(inputs, tgt)
        if args is None:
            raise TargetError("build(s, args): the argument tensors are required")
        _check_args_list(args, "build")
        # A backend that knows device limits rejects over-limit kernels before lowering.
        check = getattr(backend, "check_launch_extents", None)
        with deep_expressions(f"build '{name}'"):
            func = lower_schedule(inputs, args, name=name, target_kind=tgt.kind.name,
                                  check_launch=None if check is None else (lambda k: check(k, parsed)))
    else:
        func = lower(inputs, args, name=name)
    # Intrinsic lowering rules registered for this target (tl.ir.register_intrin_lowering).
    func = func.with_body(lower_intrinsics(func.body, tgt.kind.name))
    with deep_expressions(f"build '{name}'"):
        module = backend.build_func(func, parsed, jit=jit)
    kernels_dir = PassContext.current().config.get("cuda.kernels_output_dir")
    if kernels_dir and tgt.kind.name == "cuda":
        _save_kernels(module, kernels_dir)
    return module


def _save_kernels(module: Any, folder: Any) -> None:
    """TVM's ``cuda.kernels_output_dir``: the CUDA C and PTX of the build, as tvm_kernels.cu and
    tvm_kernels.ptx in ``folder`` (for profilers and reading)."""
    if not isinstance(folder, (str, os.PathLike)) or not os.path.isdir(folder):
        raise ArgumentError(f"PassContext config cuda.kernels_output_dir must name an existing folder, got {folder!r}")
    device = module.imported_modules[0] if getattr(module, "imported_modules", None) else module
    for fmt, ext in (("cuda", "cu"), ("ptx", "ptx")):
        try:
            text = device.get_source(fmt)
        except TensorLangError:
            continue  # no PTX without NVRTC
        with open(os.path.join(folder, f"tvm_kernels.{ext}"), "w") as out:
            out.write(text)
