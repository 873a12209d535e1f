"""Operations computed by outside code: ``te.extern`` with buffers (``tir.decl_buffer``) and
the calls that code makes (``call_packed``, ``call_extern``, ``call_pure_extern``, ``call_intrin``).

An ``ExternOp`` has the axes of its output (so it is realized like any stage) but no
expression body: lowering emits the statement its ``fcompute(ins, outs)`` returned, with the
input and output buffers bound to the tensors' storage.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..errors import ExprError
from .attrs import tvm_attrs
from .dtype import HANDLE, INT32, DType, as_dtype
from .expr import Call, IntImm, Load, PrimExpr, Ramp, StringImm, Var, const, convert
from .functor import post_order_visit
from .reduction import check_callable_with
from .tag import current_tag
from .tensor import ComputeOp, IterVar, IterVarType, Range, Tensor, index_dtype_of, to_shape


class DeclBuffer:
    """A flat buffer: ``data`` (a handle variable), ``shape``, ``dtype``, ``strides`` (empty:
    compact row-major) and ``elem_offset`` (where element 0 sits in ``data``); TVM's
    ``tir.Buffer`` as extern functions, the IR builder and tensor intrinsics use it.

    A symbolic stride or offset (a ``te.var``, or ``offset_factor`` > 0 for the offset) is
    filled in where the buffer is bound to a tensor region (``Stage.tensorize``)."""

    # TVM's access mask bits (``access_ptr(Buffer.READ | Buffer.WRITE)``)
    READ = 1
    WRITE = 2

    def __init__(self, shape: Sequence[Any], dtype: str | DType = "float32", name: str = "buffer",
                 data: Var | None = None, strides: Sequence[Any] | None = None, elem_offset: Any = None,
                 offset_factor: int = 0):
        self.shape = to_shape(shape, f"buffer {name}")
        self.dtype = as_dtype(dtype)
        self.name = name
        self.data = data if data is not None else Var(name, HANDLE)
        self.strides: tuple = tuple(convert(s) for s in strides) if strides else ()
        if self.strides and len(self.strides) != len(self.shape):
            raise ExprError(f"buffer {name}: {len(self.strides)} strides for {len(self.shape)} dimensions")
        if elem_offset is None:
            elem_offset = Var(f"{name}_elem_offset", INT32) if offset_factor else const(0)
        self.elem_offset = convert(elem_offset)
        self.offset_factor = int(offset_factor)

    def symbolic_vars(self) -> set[Var]:
        """The variables in its offset and strides, bound where the buffer is bound."""
        found = [e for e in (self.elem_offset, *self.strides) if isinstance(e, Var)]
        return set(found)

    def vload(self, begin: Any, dtype: str | DType | None = None) -> PrimExpr:
        """The element at index ``begin`` (one index per dimension); a vector ``dtype`` such as
        ``"int8x64"`` reads that many consecutive elements from there."""
        dt = as_dtype(dtype) if dtype is not None else self.dtype
        index = self.offset_of(begin)
        if dt.lanes > 1:
            index = Ramp(index, const(1, index.dtype), dt.lanes)
            dt = dt.element_of()
        return Load(dt, self.data, index)

    def vstore(self, begin: Any, value: Any) -> Any:
        """The statement storing ``value`` (a vector: consecutive elements) at index ``begin``."""
        from ..ir.stmt import Store  # the statement node lives with the loop IR (te -> ir, allowed for this)
        value = convert(value)
        index = self.offset_of(begin)
        if value.dtype.lanes > 1:
            index = Ramp(index, const(1, index.dtype), value.dtype.lanes)
        return Store(self.data, value, index)

    def offset_of(self, indices: Any) -> PrimExpr:
        """The flat offset of ``indices`` in ``data`` (strides and element offset applied)."""
        idx = [convert(i) for i in (indices if isinstance(indices, (list, tuple)) else [indices])]
        if len(idx) != len(self.shape):
            raise ExprError(f"buffer {self.name} has {len(self.shape)} dimensions, got {len(idx)} indices")
        if self.strides:
            flat: PrimExpr = idx[-1] * self.strides[-1]
            for s, i in zip(self.strides[:-1], idx[:-1]):
                flat = flat + i * s
        else:
            flat = idx[0]
            for d, i in zip(self.shape[1:], idx[1:]):
                flat = flat * d + i
        if not (isinstance(self.elem_offset, IntImm) and self.elem_offset.value == 0):
            flat = flat + self.elem_offset
        return flat

    def access_ptr(self, access_mask: Any = "rw", ptr_type: str = "handle", content_lanes: int = 1,
                   offset: Any = 0, extent: Any = None) -> PrimExpr:
        """A pointer to the buffer's first element (``offset`` elements further); ``access_mask``
        ("r", "w", "rw", or TVM's 1 = read, 2 = write) tells GPU barrier insertion what the
        code given the pointer does with the memory.  ``extent`` (TVM 0.12: how many elements
        the code reaches from there) is checked, not recorded: barriers cover the whole buffer."""
        if extent is not None:
            ext = convert(extent)
            if not ext.dtype.is_int or (isinstance(ext, IntImm) and ext.value < 0):
                raise ExprError(f"access_ptr of buffer {self.name}: extent must be a non-negative integer "
                                f"(elements reached from the offset), got {extent!r}")
        start = convert(offset)
        if not (isinstance(self.elem_offset, IntImm) and self.elem_offset.value == 0):
            start = self.elem_offset + start
        return Call(HANDLE, ACCESS_PTR, [self.data, start, IntImm(INT32, _DTYPE_CODES[str(self.dtype)]),
                                              IntImm(INT32, _access_mask(access_mask, self.name))])

    def as_arg(self) -> PrimExpr:
        """The buffer as an argument of a packed call: its data (from its first element), dtype
        and shape (a compact view: pass ``access_ptr`` and the strides for a strided one)."""
        data = self.data if isinstance(self.elem_offset, IntImm) and self.elem_offset.value == 0 else self.access_ptr()
        return Call(HANDLE, "tl.array", [data, IntImm(INT32, _DTYPE_CODES[str(self.dtype)]), *self.shape])

    def __repr__(self) -> str:
        return f"buffer({self.name}, {self.dtype}, {list(self.shape)})"


# The call access_ptr makes: (data, element offset, dtype code, access mask); code handed the
# pointer (a packed or extern call, a tensor-core load) reads and/or writes through it.
ACCESS_PTR = "tl.address_of"


def access_mask(ptr: Call) -> int:
    """What code given an access_ptr call does through it: 1 read, 2 write, 3 both (also when
    the call carries no mask)."""
    return ptr.args[3].value if len(ptr.args) > 3 and isinstance(ptr.args[3], IntImm) else 3


def _access_mask(mask: Any, buffer: str) -> int:
    """TVM's access mask as bits: 1 = read, 2 = write."""
    if isinstance(mask, str) and mask and set(mask) <= {"r", "w"}:
        return ("r" in mask) | ("w" in mask) << 1
    if isinstance(mask, int) and not isinstance(mask, bool) and 1 <= mask <= 3:
        return mask
    raise ExprError(f"access_ptr of buffer {buffer}: access_mask must be 'r', 'w', 'rw', 1, 2 or 3, got {mask!r}")


# dtype codes shared with the code that decodes packed-call arguments
DTYPES = ("float32", "float64", "float16", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "bool")
_DTYPE_CODES = {name: k for k, name in enumerate(DTYPES)}


def decl_buffer(shape: Sequence[Any], dtype: str | DType = "float32", name: str = "buffer", data: Var | None = None,
                strides: Any = None, elem_offset: Any = None, scope: str = "", data_alignment: int = -1,
                offset_factor: int = 0, buffer_type: str = "", axis_separators: Any = None,
                span: Any = None) -> DeclBuffer:
    """A buffer declaration; ``strides`` (e.g. ``[te.var("s1"), 1]``) and ``elem_offset`` (or
    ``offset_factor=1``) may be symbolic, to be bound to a tensor region by tensorize."""
    return DeclBuffer(shape, dtype, name, data, strides, elem_offset, offset_factor)


class ExternOp(ComputeOp):
    """Outputs computed by a statement of outside code (see the module docstring)."""

    def __init__(self, name: str, tag: str, attrs: dict | None, shapes: Sequence[Sequence[PrimExpr]],
                 dtypes: Sequence[DType], inputs: Sequence[Tensor], input_buffers: Sequence[DeclBuffer],
                 output_buffers: Sequence[DeclBuffer], body: Any):
        names = ["i", "j", "k", "l", "m", "n"]
        axis = [IterVar(Range(0, d), Var(names[n] if n < 6 else f"ax{n}", index_dtype_of(Range(0, d))),
                        IterVarType.DATA_PAR) for n, d in enumerate(shapes[0])]
        # Placeholder bodies give the outputs their dtypes; the real work is ``extern_body``.
        super().__init__(name, tag, attrs, axis, [const(0, dt) for dt in dtypes])
        # Each output has its own shape (the axes are the first output's; an extern stage is
        # always computed at the root, whole, so no other output needs axes of its own).
        self.outputs = tuple(Tensor(self, i, tuple(s), dt) for i, (s, dt) in enumerate(zip(shapes, dtypes)))
        self.inputs = tuple(inputs)
        self.input_placeholders = tuple(input_buffers)
        self.output_placeholders = tuple(output_buffers)
        self.extern_body = body

    @property
    def input_tensors(self) -> list[Tensor]:
        return list(self.inputs)


class HybridOp(ExternOp):
    """The stage a hybrid script declares (``te.hybrid.script``, TVM's ``te.HybridOp``): an extern
    stage whose statement is the script's loops, its outputs in the order the script returns them.
    Its ``axis`` are the script's loops, in TVM's order (post-order, reversed: a nest outermost
    first), which a schedule splits, fuses, reorders, annotates and binds."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.axis = _script_loops(self.extern_body)


def _script_loops(body: Any) -> list[IterVar]:
    """An IterVar for every loop of a hybrid script's statement (TVM's GatherLoopVars order)."""
    from ..ir.stmt import For  # the statement nodes live with the loop IR (te -> ir, allowed for this)
    found: list[IterVar] = []

    def fn(n: Any) -> None:
        if isinstance(n, For):
            found.append(IterVar(Range(n.min, n.extent), n.loop_var, IterVarType.DATA_PAR))
    post_order_visit(body, fn)
    return found[::-1]


def extern(shape: Any, inputs: Sequence[Tensor], fcompute: Callable[[list[DeclBuffer], list[DeclBuffer]], Any],
           name: str = "extern", dtype: Any = None, in_buffers: Sequence[DeclBuffer] | None = None,
           out_buffers: Sequence[DeclBuffer] | None = None, tag: str = "", attrs: dict | None = None) -> Any:
    """Tensors of ``shape`` computed by ``fcompute(ins, outs)``, which gets one buffer per input
    and output and returns the statement (or call expression) that fills the outputs."""
    where = f"extern '{name}'"
    single = not (isinstance(shape, (list, tuple)) and shape and isinstance(shape[0], (list, tuple)))
    shapes = [shape] if single else list(shape)
    shapes = [to_shape(s, where) for s in shapes]
    if not isinstance(inputs, (list, tuple)):
        raise ExprError(f"{where}: inputs must be a list of tensors, got {inputs!r}")
    inputs = list(inputs)
    for t in inputs:
        if not isinstance(t, Tensor):
            raise ExprError(f"{where}: inputs must be tensors, got {t!r}")
    if not callable(fcompute):
        raise ExprError(f"{where}: fcompute must be a function of (ins, outs), got {fcompute!r}")
    if dtype is None and out_buffers is not None and all(isinstance(b, DeclBuffer) for b in out_buffers):
        dtypes = [b.dtype for b in out_buffers]  # as in TVM, the output buffers give the outputs' dtypes
    elif dtype is None:
        dtypes = [inputs[0].dtype if inputs else as_dtype("float32")] * len(shapes)
    else:
        dtypes = [as_dtype(d) for d in (dtype if isinstance(dtype, (list, tuple)) else [dtype] * len(shapes))]
    ins = list(in_buffers) if in_buffers is not None else [
        DeclBuffer(t.shape, t.dtype, f"{t.name}_buf") for t in inputs]
    outs = list(out_buffers) if out_buffers is not None else [
        DeclBuffer(s, dt, f"{name}_out{k}" if len(shapes) > 1 else f"{name}_buf") for k, (s, dt) in
        enumerate(zip(shapes, dtypes))]
    if len(ins) != len(inputs) or len(outs) != len(shapes):
        raise ExprError(f"{where}: give one buffer per input and per output")
    for what, bufs, tensors in (("in_buffers", ins, [(t.name, t.shape, t.dtype) for t in inputs]),
                                ("out_buffers", outs, [(f"output {k}", sh, dt) for k, (sh, dt)
                                                       in enumerate(zip(shapes, dtypes))])):
        for buf, tensor in zip(bufs, tensors):
            _check_buffer_matches(buf, *tensor, f"{where}: {what}")
    check_callable_with(fcompute, 2, f"{where}: fcompute")
    body = fcompute(ins, outs)
    if body is None:
        raise ExprError(f"{where}: fcompute returned nothing; return the call (or ib.get() of an ir_builder)")
    if attrs is not None and not isinstance(attrs, dict):
        raise ExprError(f"{where}: attrs must be a dict, got {attrs!r}")
    # inside te.tag_scope the op gets the scope's tag, as a compute does
    op = ExternOp(name, tag or current_tag(), tvm_attrs(attrs), shapes, dtypes, inputs, ins, outs, body)
    return op.outputs[0] if len(op.outputs) == 1 else list(op.outputs)


def _check_buffer_matches(buf: Any, name: str, shape: Sequence[PrimExpr], dtype: DType, where: str) -> None:
    """The buffer the extern code uses for a tensor holds that tensor's elements: same dtype and
    shape (else its code reads another dtype's bits, or past the tensor's memory)."""
    if not isinstance(buf, DeclBuffer):
        raise ExprError(f"{where}: expected buffers (tir.decl_buffer), got {buf!r} for {name}")
    if buf.dtype != dtype:
        raise ExprError(f"{where}: buffer {buf.name} is {buf.dtype} but {name} is {dtype}; they must match")
    same = len(buf.shape) == len(shape) and all(
        a is b or not (isinstance(a, IntImm) and isinstance(b, IntImm)) or a.value == b.value
        for a, b in zip(buf.shape, shape))
    if not same:
        raise ExprError(f"{where}: buffer {buf.name} has shape {list(buf.shape)} but {name} has shape "
                        f"{list(shape)}; they must match")


def _arg(a: Any) -> PrimExpr:
    if isinstance(a, DeclBuffer):
        return a.as_arg()
    if isinstance(a, str):
        return StringImm(a)
    if isinstance(a, Tensor):
        raise ExprError(f"call_packed: pass the buffer of tensor {a.name} (ins[k] / outs[k] of te.extern)")
    return convert(a)


def call_packed(func_name: str, *args: Any) -> PrimExpr:
    """Call the function registered as ``func_name`` (``tl.register_func``) from generated code;
    buffers arrive as arrays, numbers as Python numbers."""
    return Call(INT32, "tvm_call_packed", [StringImm(func_name), *(_arg(a) for a in args)])


# tir.trace's call: (action name, traced values...); its value is the last one, or what the action returned
TRACE = "tvm_call_trace_packed"
DEFAULT_TRACE_ACTION = "tvm.default_trace_action"


def trace(args: Any, trace_action: str = DEFAULT_TRACE_ACTION) -> PrimExpr:
    """TVM's ``tir.trace(args, trace_action)``: call the registered ``trace_action`` with the
    values of ``args`` each time generated code computes the expression, whose value is the last
    of ``args``, or the number the action returns (cast to that dtype) when it returns one.  The
    default action prints the values.  LLVM (CPU) code only."""
    if not isinstance(args, (list, tuple)) or not args:
        raise ExprError(f"tir.trace(args, trace_action): args must be a non-empty list of values, got {args!r}")
    if not isinstance(trace_action, str) or not trace_action:
        raise ExprError(f"tir.trace: trace_action must be the name of a registered function, got {trace_action!r}")
    values = [convert(a) for a in args]
    for k, v in enumerate(values):
        if not isinstance(v, PrimExpr) or v.dtype.lanes != 1 or v.dtype.is_handle:
            raise ExprError(f"tir.trace: argument {k} ({v!r}) must be a scalar number (an index, a tensor element, "
                            "a constant)")
    return Call(values[-1].dtype, TRACE, [StringImm(trace_action), *values])


def call_extern(dtype: str | DType, func_name: str, *args: Any) -> PrimExpr:
    """Call the C function ``func_name`` (from libm, a loaded library, or CUDA's device library)."""
    return Call(dtype, "call_extern", [StringImm(func_name), *(_arg(a) for a in args)])


def call_pure_extern(dtype: str | DType, func_name: str, *args: Any) -> PrimExpr:
    """``call_extern`` of a function without side effects."""
    return Call(dtype, "call_pure_extern", [StringImm(func_name), *(_arg(a) for a in args)])


def call_llvm_pure_intrin(dtype: str | DType, name: str, *args: Any) -> PrimExpr:
    """Call the LLVM intrinsic ``name`` (e.g. ``"llvm.x86.avx512.vpdpbusd.512"``); the first
    argument is the number of overloaded argument types (0 for most target intrinsics), the
    rest are its operands.  LLVM targets only."""
    if not args:
        raise ExprError(f"call_llvm_pure_intrin {name}: give the signature count, then the operands")
    return Call(dtype, "call_llvm_pure_intrin", [StringImm(name), *(convert(a) for a in args)])


def call_llvm_intrin(dtype: str | DType, name: str, *args: Any) -> PrimExpr:
    """``call_llvm_pure_intrin`` of an intrinsic with side effects."""
    if not args:
        raise ExprError(f"call_llvm_intrin {name}: give the signature count, then the operands")
    return Call(dtype, "call_llvm_intrin", [StringImm(name), *(convert(a) for a in args)])


def reinterpret(dtype: str | DType, value: Any) -> PrimExpr:
    """The bits of ``value`` read as ``dtype`` (of the same total size)."""
    value = convert(value)
    dt = as_dtype(dtype)
    if dt.bits * dt.lanes != value.dtype.bits * value.dtype.lanes:
        raise ExprError(f"reinterpret of {value.dtype} as {dt}: the sizes differ")
    return Call(dt, "reinterpret", [value])


# The block-wide barrier GPU code generation and emulation know (ir.passes.storage_sync.BARRIER).
_BARRIER = "tl.syncthreads"


def call_intrin(dtype: str | DType | None, func_name: str, *args: Any) -> PrimExpr:
    """An intrinsic by name (``"tir.exp"`` or a name given lowering rules with
    ``tl.ir.register_intrin_lowering``); string arguments become ``StringImm``s and a ``None``
    dtype (TVM's void) is int32.  TVM's ``tvm_storage_sync("shared")`` is the block barrier."""
    name = func_name[4:] if func_name.startswith("tir.") else func_name
    dt = "int32" if dtype is None else dtype
    if name == "reinterpret" and len(args) == 1:
        return reinterpret(dt, args[0])
    values = [StringImm(a) if isinstance(a, str) else convert(a) for a in args]
    if name == "tvm_storage_sync":
        scope = values[0].value if values and isinstance(values[0], StringImm) else None
        if scope != "shared":
            raise ExprError(f"tvm_storage_sync({scope!r}): only 'shared' (the block-wide barrier) is supported")
        return Call("int32", _BARRIER, ())
    return Call(dt, name, values)


__all__ = ["DeclBuffer", "ExternOp", "extern", "decl_buffer", "call_packed", "trace", "call_extern", "call_pure_extern",
           "call_intrin", "call_llvm_pure_intrin", "call_llvm_intrin", "reinterpret", "DTYPES"]
