"""Tensors, iteration variables and the operations that produce tensors."""

from __future__ import annotations

import enum
import math
import numbers
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DTypeError, ExprError
from .attrs import AttrMap
from .dtype import INT32, INT64, DType, as_dtype
from .expr import FloatImm, IntImm, PrimExpr, Reduce, TensorRead, Var, const, convert
from .functor import post_order_visit


class Range:
    """The half-open integer interval [min, min + extent)."""

    __slots__ = ("min", "extent")

    def __init__(self, min: Any, extent: Any):  # noqa: A002 - TVM's field name
        object.__setattr__(self, "min", _index(min))
        object.__setattr__(self, "extent", _index(extent))

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Range is immutable")

    def __reduce__(self) -> tuple:
        return Range, (self.min, self.extent)

    @staticmethod
    def from_min_extent(min: Any, extent: Any) -> Range:  # noqa: A002
        return Range(min, extent)

    @staticmethod
    def from_begin_end(begin: Any, end: Any) -> Range:
        b, e = _index(begin), _index(end)
        return Range(b, e if isinstance(b, IntImm) and b.value == 0 else e - b)

    def __repr__(self) -> str:
        return f"Range(min={self.min}, extent={self.extent})"


def index_dtype_of(rng: Range) -> DType:
    """The dtype of an axis variable over ``rng``: int64 when its bounds are 64-bit (a
    dimension of 2**32 or an int64 shape variable), else int32."""
    if rng.min.dtype.bits > 32 or rng.extent.dtype.bits > 32:
        return INT64
    return INT32


def _index(value: Any) -> PrimExpr:
    e = convert(value)
    if not (e.dtype.is_int and e.dtype.lanes == 1):
        raise ExprError(f"an index or extent must be an integer, got {e.dtype} '{e}'")
    return e


class IterVarType(enum.IntEnum):
    """What kind of loop an IterVar stands for."""

    DATA_PAR = 0
    THREAD_INDEX = 1
    COMM_REDUCE = 2
    ORDERED = 3
    OPAQUE = 4


class IterVar:
    """An iteration axis: a variable, its domain, and whether it is data-parallel or a reduction.

    Inside expressions an IterVar stands for its variable, so ``A[i, k]`` works with
    ``k = te.reduce_axis(...)``.
    """

    __slots__ = ("dom", "var", "iter_type", "thread_tag", "__weakref__")

    def __init__(self, dom: Range | None, var: Var, iter_type: IterVarType, thread_tag: str = ""):
        object.__setattr__(self, "dom", dom)
        object.__setattr__(self, "var", var)
        object.__setattr__(self, "iter_type", IterVarType(iter_type))
        object.__setattr__(self, "thread_tag", thread_tag)
        _AXIS_OF_VAR[id(var)] = self

    # TVM's IterVar kinds, as class constants (``IterVar.Unrolled`` ...); the last four are
    # what ``Stage.iter_var_attrs[iv].iter_type`` reports for annotated loops.
    DataPar, ThreadIndex, CommReduce, Ordered, DimInfo = 0, 1, 2, 3, 4
    Unrolled, Vectorized, Parallelized, Tensorized = 5, 6, 7, 8

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("IterVar is immutable")

    def __reduce__(self) -> tuple:
        return IterVar, (self.dom, self.var, self.iter_type, self.thread_tag)

    def asobject(self) -> Var:
        return self.var

    @property
    def name(self) -> str:
        return self.var.name

    @property
    def is_reduce(self) -> bool:
        return self.iter_type == IterVarType.COMM_REDUCE

    def __repr__(self) -> str:
        dom = f", dom=[{self.dom.min}, {self.dom.min + self.dom.extent})" if self.dom is not None else ""
        kind = self.iter_type.name.lower()
        tag = f", tag={self.thread_tag}" if self.thread_tag else ""
        return f"IterVar({self.var.name}{dom}, {kind}{tag})"

    __hash__ = object.__hash__

    def same_as(self, other: object) -> bool:
        """TVM's ``same_as``: the very same iteration variable."""
        return self is other

    def __eq__(self, other: object) -> Any:
        # Against a number or an expression, ``tx == 0`` is a condition, as in TVM (ir_builder
        # kernels write ``with ib.if_scope(tx == 0)``); against anything else (another IterVar
        # in a list lookup, None) it is identity.
        if isinstance(other, (numbers.Number, PrimExpr)) and not isinstance(other, bool):
            return self.var == other
        return self is other

    def __ne__(self, other: object) -> Any:
        if isinstance(other, (numbers.Number, PrimExpr)) and not isinstance(other, bool):
            return self.var != other
        return self is not other


# The live IterVar of each axis variable, by the variable's id (a Var compares by value, and an
# IterVar keeps its variable alive, so an id seen here is that variable's): te.compute tells a
# reduce_axis used outside its reduction, or another compute's axis, from a free te.var.
_AXIS_OF_VAR: weakref.WeakValueDictionary[int, IterVar] = weakref.WeakValueDictionary()


def axis_of(var: Var) -> IterVar | None:
    """The IterVar whose variable ``var`` is (the latest made), or None for a plain variable."""
    iv = _AXIS_OF_VAR.get(id(var))
    return iv if iv is not None and iv.var is var else None


def _delegate(name: str):
    def method(self, *args):
        return getattr(self.var, name)(*args)
    method.__name__ = name
    return method


for _op in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
            "__rtruediv__", "__floordiv__", "__rfloordiv__", "__mod__", "__rmod__", "__neg__",
            "__lt__", "__le__", "__gt__", "__ge__", "astype"):
    setattr(IterVar, _op, _delegate(_op))


class Tensor:
    """Output ``value_index`` of an operation: a multi-dimensional array of one dtype."""

    __slots__ = ("op", "value_index", "shape", "dtype")
    _te_tensor = True  # expressions' arithmetic operators defer to a tensor's (expr.PrimExpr.__add__)

    def __init__(self, op: Operation, value_index: int, shape: tuple[PrimExpr, ...], dtype: DType):
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "value_index", value_index)
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "dtype", dtype)

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError("Tensor is immutable")

    def __reduce__(self) -> tuple:
        return Tensor, (self.op, self.value_index, self.shape, self.dtype)

    @property
    def name(self) -> str:
        return self.op.name if self.op.num_outputs == 1 else f"{self.op.name}.v{self.value_index}"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getitem__(self, indices: Any) -> Any:
        if not isinstance(indices, tuple):
            indices = (indices,)
        return TensorSlice(self, ())[indices]

    def __call__(self, *indices: Any) -> PrimExpr:
        return self[indices]

    def __iter__(self) -> Any:
        # Without this, iter() would index 0, 1, 2 ... forever (symbolic indices never run out).
        raise ExprError(f"tensor {self.name} cannot be iterated: read its elements by index ({self.name}[i])")

    def __hash__(self) -> int:
        return hash((id(self.op), self.value_index))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tensor) and other.op is self.op and other.value_index == self.value_index

    def same_as(self, other: object) -> bool:
        """TVM's ``same_as``: the same output of the same operation."""
        return self == other

    def __repr__(self) -> str:
        shape = ", ".join(str(s) for s in self.shape)
        return f"Tensor(name={self.name}, shape=({shape}), dtype={self.dtype})"


class TensorSlice:
    """A partly indexed tensor (``A[i]`` of a 2-D ``A``); index it further to read an element."""

    __slots__ = ("tensor", "indices")

    def __init__(self, tensor: Tensor, indices: tuple[PrimExpr, ...]):
        self.tensor = tensor
        self.indices = indices

    def __getitem__(self, more: Any) -> Any:
        if not isinstance(more, tuple):
            more = (more,)
        if any(isinstance(i, slice) for i in more):
            return TensorRegion.of(self.tensor, [*self.indices, *more])
        idx = self.indices + tuple(_read_index(self.tensor, i, len(self.indices) + n) for n, i in enumerate(more))
        if len(idx) > self.tensor.ndim:
            raise ExprError(f"tensor {self.tensor.name} has {self.tensor.ndim} dimension(s) "
                            f"but is indexed with {len(idx)}")
        if len(idx) == self.tensor.ndim:
            return TensorRead(self.tensor, idx)
        return TensorSlice(self.tensor, idx)

    def __iter__(self) -> Any:
        raise ExprError(f"tensor {self.tensor.name} cannot be iterated: read its elements by index")

    def asobject(self) -> PrimExpr:
        if len(self.indices) != self.tensor.ndim:
            raise ExprError(f"tensor {self.tensor.name} has {self.tensor.ndim} dimension(s) "
                            f"but is indexed with {len(self.indices)}")
        return TensorRead(self.tensor, self.indices)

    @property
    def dtype(self) -> DType:
        return self.tensor.dtype

    def __getattr__(self, name: str) -> Any:  # arithmetic on a complete slice
        return getattr(self.asobject(), name)

    def __add__(self, o): return self.asobject() + o  # noqa: E704
    def __radd__(self, o): return o + self.asobject()  # noqa: E704
    def __sub__(self, o): return self.asobject() - o  # noqa: E704
    def __rsub__(self, o): return o - self.asobject()  # noqa: E704
    def __mul__(self, o): return self.asobject() * o  # noqa: E704
    def __rmul__(self, o): return o * self.asobject()  # noqa: E704
    def __truediv__(self, o): return self.asobject() / o  # noqa: E704
    def __rtruediv__(self, o): return o / self.asobject()  # noqa: E704
    def __neg__(self): return -self.asobject()  # noqa: E704


class TensorRegion:
    """A box of a tensor, ``A[i, 0:16]``: per dimension a (min, extent); what a tensor
    intrinsic called inside ``te.compute`` reads (TVM's TensorComputeOp)."""

    __slots__ = ("tensor", "region")

    def __init__(self, tensor: Tensor, region: Sequence[tuple[PrimExpr, PrimExpr]]):
        self.tensor = tensor
        self.region = tuple(region)

    @staticmethod
    def of(tensor: Tensor, indices: Sequence[Any]) -> TensorRegion:
        """The region ``tensor[indices]`` selects (slices ``a:b`` and points; the dimensions
        not indexed are whole)."""
        if len(indices) > tensor.ndim:
            raise ExprError(f"tensor {tensor.name} has {tensor.ndim} dimension(s) but is indexed with {len(indices)}")
        region = []
        for d, i in enumerate(list(indices) + [slice(None)] * (tensor.ndim - len(indices))):
            if isinstance(i, slice):
                if i.step not in (None, 1):
                    raise ExprError(f"tensor {tensor.name}: a region's slices must have step 1 (dimension {d})")
                lo = _read_index(tensor, 0 if i.start is None else i.start, d)
                hi = tensor.shape[d] if i.stop is None else _read_index(tensor, i.stop, d)
                region.append((lo, hi - lo if not (isinstance(lo, IntImm) and lo.value == 0) else hi))
            else:
                region.append((_read_index(tensor, i, d), const(1)))
        return TensorRegion(tensor, region)

    def __repr__(self) -> str:
        return f"{self.tensor.name}[{', '.join(f'{m}:{m} + {e}' for m, e in self.region)}]"


def _read_index(tensor: Tensor, index: Any, dim: int) -> PrimExpr:
    if isinstance(index, slice):
        raise ExprError(f"tensor {tensor.name}: slices are not supported as indices (dimension {dim})")
    try:
        e = convert(index)
    except ExprError:
        raise ExprError(f"tensor {tensor.name} is indexed with {index!r} ({type(index).__name__}) in dimension "
                        f"{dim}; indices must be integer expressions") from None
    if not (e.dtype.is_int and e.dtype.lanes == 1):
        raise ExprError(f"tensor {tensor.name} is indexed with the {e.dtype} expression '{e}' in "
                        f"dimension {dim}; indices must be integers")
    return e


class Operation:
    """Base of operations; ``output(i)`` is the i-th tensor it produces."""

    name: str
    tag: str
    attrs: dict

    @property
    def num_outputs(self) -> int:
        return len(self.outputs)

    def output(self, index: int) -> Tensor:
        k = index.__index__() if hasattr(index, "__index__") and not isinstance(index, bool) else None
        if k is None or not 0 <= k < len(self.outputs):
            # a negative index would silently pick an output from the end, as TVM's does not
            raise ExprError(f"operation {self.name} has {len(self.outputs)} output(s) (0..{len(self.outputs) - 1}); "
                            f"output({index!r}) does not exist")
        return self.outputs[k]

    @property
    def input_tensors(self) -> list[Tensor]:
        return []

    def same_as(self, other: object) -> bool:
        """TVM's ``same_as``: the very same operation."""
        return self is other

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name})"


class PlaceholderOp(Operation):
    """An input tensor supplied by the caller."""

    def __init__(self, name: str, shape: tuple[PrimExpr, ...], dtype: DType):
        self.name, self.tag, self.attrs = name, "", AttrMap()
        self.shape = shape
        self.dtype = dtype
        self.outputs = (Tensor(self, 0, shape, dtype),)


class ComputeOp(Operation):
    """A tensor defined elementwise by expressions over its axes (and reduce axes)."""

    def __init__(self, name: str, tag: str, attrs: dict | None, axis: Sequence[IterVar],
                 body: Sequence[PrimExpr]):
        # a copy as given: compute/extern/scan made the user's values read as TVM's (tvm_attrs);
        # schedule rewrites pass an op's attrs on unchanged (autotvm keeps tuples there)
        self.name, self.tag, self.attrs = name, tag, AttrMap(attrs or {})
        self.axis = tuple(axis)
        self.body = tuple(body)
        first = self.body[0]
        self.reduce_axis = tuple(first.axis) if isinstance(first, Reduce) else ()
        shape = tuple(iv.dom.extent for iv in self.axis)
        self.outputs = tuple(Tensor(self, i, shape, b.dtype) for i, b in enumerate(self.body))

    @property
    def input_tensors(self) -> list[Tensor]:
        seen: dict[Tensor, None] = {}

        def fn(node: Any) -> None:
            if isinstance(node, TensorRead):
                seen.setdefault(node.tensor, None)
        for b in self.body:
            post_order_visit(b, fn)
            if isinstance(b, Reduce) and getattr(b.combiner, "starts_at_init", False):
                for e in b.combiner.identity:  # init= may read tensors too (init=Bias[i])
                    post_order_visit(e, fn)
        return list(seen)


def integral(value: Any, where: str) -> Any:
    """A float that holds a whole number becomes that int, as TVM casts ``N / bn`` in a shape or
    a split factor; a fractional one is an error naming ``where``.  Other values pass through."""
    if isinstance(value, FloatImm):
        value = value.value
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        if not math.isfinite(value) or not float(value).is_integer():
            raise ExprError(f"{where}: {value!r} is not a whole number (sizes and factors are integers)")
        return int(value)
    return value


def to_shape(shape: Any, where: str) -> tuple[PrimExpr, ...]:
    """Normalize a shape argument (an int, an expression, or a sequence of them); floats holding
    whole numbers (``N / bn``) become ints."""
    if isinstance(shape, np.ndarray) and shape.ndim == 1:
        shape = shape.tolist()
    if isinstance(shape, (int, float, PrimExpr, IterVar)) or hasattr(shape, "__index__"):
        shape = (shape,)
    if isinstance(shape, (str, bytes, dict, set, Tensor)) or not hasattr(shape, "__iter__"):
        raise ExprError(f"{where}: the shape must be a tuple of sizes, got {shape!r}")
    out = []
    for n, s in enumerate(shape):
        s = integral(s, f"{where}: dimension {n} of the shape")
        if isinstance(s, int) and not -2**63 <= s < 2**63:
            raise DTypeError(f"{where}: dimension {n} of the shape ({s}) does not fit int64")
        if not (isinstance(s, (numbers.Integral, PrimExpr)) or hasattr(s, "__index__") or hasattr(s, "asobject")):
            raise ExprError(f"{where}: dimension {n} of the shape is {s!r} ({type(s).__name__}); "
                            "sizes are integers or integer expressions")
        e = convert(s)
        if not (e.dtype.is_int and e.dtype.lanes == 1):
            raise ExprError(f"{where}: dimension {n} of the shape is a {e.dtype} expression '{e}'; "
                            "shapes must be integers")
        if isinstance(e, IntImm) and e.value < 0:
            raise ExprError(f"{where}: dimension {n} of the shape is negative ({e.value})")
        if e.dtype.bits > 32 and isinstance(e, IntImm) and -2**31 <= e.value < 2**31:
            e = const(e.value, INT32)
        out.append(e)
    return tuple(out)


__all__ = ["Range", "index_dtype_of", "IterVar", "IterVarType", "Tensor", "TensorSlice", "Operation",
           "PlaceholderOp", "ComputeOp", "to_shape", "integral", "as_dtype"]
