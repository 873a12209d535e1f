"""Scalar and vector expression nodes, the operators that build them and dtype promotion.

Every node is immutable: fields are set once in ``__init__``.  Nodes compare and hash by
identity (``==`` between expressions builds an ``EQ`` node, as in TVM); use
``tensorlang.arith.structural_equal`` to compare shapes of expressions.

Each class lists ``_params`` (its constructor arguments, in order) and ``_children`` (the
subset that are expressions or tuples of expressions), which generic visitors and mutators
use to walk and rebuild any node, including the loop-IR nodes defined in ``tensorlang.ir``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from ..errors import DTypeError, ExprError
from . import numeric
from .dtype import BOOL, FLOAT32, INT32, INT64, DType, as_dtype, promote


class Node:
    """Base of all immutable IR nodes (expressions here, statements in tensorlang.ir)."""

    __slots__ = ()
    _params: tuple[str, ...] = ()
    _children: tuple[str, ...] = ()

    def __setattr__(self, key: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _init(self, **fields: Any) -> None:
        for k, v in fields.items():
            object.__setattr__(self, k, v)

    def params(self) -> list[Any]:
        """The constructor arguments that rebuild this node."""
        return [getattr(self, p) for p in self._params]

    def with_fields(self, **changes: Any) -> Any:
        """This node with some constructor arguments replaced; the node itself when every new
        value is the current one (``is``, tuples item by item), so that "nothing changed"
        stays an identity check for the passes above."""
        for name, new in changes.items():
            old = getattr(self, name)
            if new is not old and not (type(new) is tuple and type(old) is tuple and len(new) == len(old)
                                       and all(a is b for a, b in zip(new, old))):
                return type(self)(*[changes.get(p, getattr(self, p)) for p in self._params])
        return self

    def __reduce__(self) -> tuple:
        # Nodes refuse attribute assignment, so they pickle as a constructor call.
        return type(self), tuple(getattr(self, p) for p in self._params)

    def same_as(self, other: object) -> bool:
        """TVM's ``Object.same_as``: the very same node (identity, not structural equality)."""
        return self is other

    __hash__ = object.__hash__


class PrimExpr(Node):
    """A scalar (or, after vectorization, vector) expression with a dtype."""

    __slots__ = ("dtype",)
    dtype: DType

    # Python operators build expressions (TVM semantics: // floordiv, % floormod, / truediv
    # for floats and truncdiv for integers).  An expression and a tensor (``n + A``) make a
    # tensor, as in TVM: the four operators tensors have defer to the tensor's reflection.
    def __add__(self, o):
        if getattr(o, "_te_tensor", False):
            return NotImplemented
        return binary(Add, self, o)

    def __radd__(self, o):
        return binary(Add, o, self)

    def __sub__(self, o):
        if getattr(o, "_te_tensor", False):
            return NotImplemented
        return binary(Sub, self, o)

    def __rsub__(self, o):
        return binary(Sub, o, self)

    def __mul__(self, o):
        if getattr(o, "_te_tensor", False):
            return NotImplemented
        return binary(Mul, self, o)

    def __rmul__(self, o):
        return binary(Mul, o, self)

    def __truediv__(self, o):
        if getattr(o, "_te_tensor", False):
            return NotImplemented
        return binary(Div, self, o)

    def __rtruediv__(self, o):
        return binary(Div, o, self)

    def __floordiv__(self, o):
        return binary(FloorDiv, self, o)

    def __rfloordiv__(self, o):
        return binary(FloorDiv, o, self)

    def __mod__(self, o):
        return binary(FloorMod, self, o)

    def __rmod__(self, o):
        return binary(FloorMod, o, self)

    def __pow__(self, o):
        # x ** y as te.power (numpy's power: exact integer powers with wrap-around)
        from .intrin import power
        return power(self, o)

    def __rpow__(self, o):
        from .intrin import power
        return power(o, self)

    def __neg__(self):
        if self.dtype.is_bool:
            raise DTypeError(f"cannot negate the boolean '{self}' (numpy refuses it too); use '~' for logical not")
        if isinstance(self, IntImm):
            return IntImm(self.dtype, -self.value)
        if isinstance(self, FloatImm):
            return FloatImm(self.dtype, -self.value)
        if self.dtype.is_float:
            # -x flips the sign of 0.0 too (numpy.negative(0.0) is -0.0), which 0 - x does not;
            # x * -1 is exact, and LLVM makes it a sign flip.
            return binary(Mul, self, const(-1.0, self.dtype))
        return binary(Sub, const(0, self.dtype), self)

    def __lt__(self, o):
        return binary(LT, self, o)

    def __le__(self, o):
        return binary(LE, self, o)

    def __gt__(self, o):
        return binary(GT, self, o)

    def __ge__(self, o):
        return binary(GE, self, o)

    def __eq__(self, o):  # type: ignore[override]
        return binary(EQ, self, o)

    def __ne__(self, o):  # type: ignore[override]
        return binary(NE, self, o)

    def equal(self, o):
        """``self == o`` as an expression (TVM's spelling)."""
        return binary(EQ, self, o)

    # & | ^ ~ are logical on conditions and bitwise on integers, as in TVM and numpy.
    def __and__(self, o):
        return _and_or(And, BitwiseAnd, self, o)

    def __rand__(self, o):
        return _and_or(And, BitwiseAnd, o, self)

    def __or__(self, o):
        return _and_or(Or, BitwiseOr, self, o)

    def __ror__(self, o):
        return _and_or(Or, BitwiseOr, o, self)

    def __xor__(self, o):
        return bitwise(BitwiseXor, self, o)

    def __rxor__(self, o):
        return bitwise(BitwiseXor, o, self)

    def __lshift__(self, o):
        return bitwise(ShiftLeft, self, o)

    def __rlshift__(self, o):
        return bitwise(ShiftLeft, o, self)

    def __rshift__(self, o):
        return bitwise(ShiftRight, self, o)

    def __rrshift__(self, o):
        return bitwise(ShiftRight, o, self)

    def __invert__(self):
        return logical_not(self) if self.dtype.is_bool else bitwise_not(self)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise ExprError(
            f"cannot use the symbolic expression '{self}' as a Python bool; "
            "use te.if_then_else, te.all or te.any to build a condition")

    def astype(self, dtype: str | DType) -> PrimExpr:
        """Convert to another dtype."""
        return cast(self, dtype)

    def __str__(self) -> str:
        from .printer import expr_str  # the printer imports this module
        return expr_str(self)

    def __repr__(self) -> str:
        return str(self)


# --- leaves ---------------------------------------------------------------------------

class Var(PrimExpr):
    """A symbolic scalar: a shape parameter (te.var), a loop or axis variable, or a buffer."""

    __slots__ = ("name",)
    _params = ("name", "dtype")

    def __init__(self, name: str = "v", dtype: str | DType = INT32):
        self._init(name=name, dtype=as_dtype(dtype))


class IntImm(PrimExpr):
    """An integer or bool constant."""

    __slots__ = ("value",)
    _params = ("dtype", "value")

    def __init__(self, dtype: str | DType, value: int):
        dt = as_dtype(dtype)
        self._init(dtype=dt, value=numeric.wrap(int(value), dt))

    def __int__(self) -> int:
        return self.value

    def __index__(self) -> int:
        return self.value

    def __bool__(self) -> bool:
        return bool(self.value)


# The smallest magnitude float16 rounds to infinity (65504 is the largest finite value).
_FLOAT16_OVERFLOW = 65520.0
_NARROW = {16: np.float16, 32: np.float32}


class FloatImm(PrimExpr):
    """A floating-point constant."""

    __slots__ = ("value",)
    _params = ("dtype", "value")

    def __init__(self, dtype: str | DType, value: float):
        dt, value = as_dtype(dtype), float(value)
        if dt.bits == 16 and abs(value) >= _FLOAT16_OVERFLOW and value == value:
            value = value * float("inf")  # what a float16 holds beyond its range (as numpy rounds)
        elif dt.bits in (16, 32):
            # The value its dtype holds, as numpy rounds: a float16 0.1 widened to float32 is
            # 0.0999755859375, and constant folding rounds after each operation as numpy does.
            with np.errstate(over="ignore"):
                value = float(_NARROW[dt.bits](value))
        self._init(dtype=dt, value=value)

    def __float__(self) -> float:
        return self.value


class StringImm(PrimExpr):
    """A string constant (the name of a packed function, a string argument of a call)."""

    __slots__ = ("value",)
    _params = ("dtype", "value")

    def __init__(self, value: str):
        self._init(dtype=as_dtype("handle"), value=str(value))


# --- operations -----------------------------------------------------------------------

class Cast(PrimExpr):
    """Convert ``value`` to ``dtype``."""

    __slots__ = ("value",)
    _params = ("dtype", "value")
    _children = ("value",)

    def __init__(self, dtype: str | DType, value: PrimExpr):
        self._init(dtype=as_dtype(dtype), value=value)


class BinaryOp(PrimExpr):
    """Base of arithmetic binary operators; both operands share one dtype."""

    __slots__ = ("a", "b")
    _params = ("a", "b")
    _children = ("a", "b")
    symbol = "?"

    def __init__(self, a: PrimExpr, b: PrimExpr):
        if not (isinstance(a, PrimExpr) and isinstance(b, PrimExpr)):
            # TVM code builds nodes as tir.Add(x, 1): a Python scalar takes the other side's dtype
            # (as operators do; TVM's FFI makes such scalars constants as well).
            a, b = _operand_pair(a, b, f" (in tir.{type(self).__name__})")
        if a.dtype != b.dtype:
            raise DTypeError(f"{type(self).__name__} operands differ in dtype: {a.dtype} and {b.dtype}")
        self._init(a=a, b=b, dtype=self._result_dtype(a.dtype))

    @staticmethod
    def _result_dtype(dt: DType) -> DType:
        return dt


class Add(BinaryOp):
    __slots__ = ()
    symbol = "+"


class Sub(BinaryOp):
    __slots__ = ()
    symbol = "-"


class Mul(BinaryOp):
    __slots__ = ()
    symbol = "*"


class Div(BinaryOp):
    """Float division, or integer division rounding toward zero (C semantics)."""

    __slots__ = ()
    symbol = "/"


class Mod(BinaryOp):
    """Remainder with the sign of the dividend (C semantics; te.truncmod, te.fmod on floats)."""

    __slots__ = ()
    symbol = "truncmod"


class FloorDiv(BinaryOp):
    """Integer division rounding toward minus infinity (Python ``//``)."""

    __slots__ = ()
    symbol = "//"


class FloorMod(BinaryOp):
    """Remainder with the sign of the divisor (Python ``%``)."""

    __slots__ = ()
    symbol = "%"


class Min(BinaryOp):
    __slots__ = ()
    symbol = "min"


class Max(BinaryOp):
    __slots__ = ()
    symbol = "max"


class CmpOp(BinaryOp):
    """Comparisons produce bool (with the operands' lanes)."""

    __slots__ = ()

    @staticmethod
    def _result_dtype(dt: DType) -> DType:
        return BOOL.with_lanes(dt.lanes)


class EQ(CmpOp):
    __slots__ = ()
    symbol = "=="

    def __bool__(self) -> bool:
        return _same_value(self.a, self.b)


class NE(CmpOp):
    __slots__ = ()
    symbol = "!="

    def __bool__(self) -> bool:
        return not _same_value(self.a, self.b)


class LT(CmpOp):
    __slots__ = ()
    symbol = "<"


class LE(CmpOp):
    __slots__ = ()
    symbol = "<="


class GT(CmpOp):
    __slots__ = ()
    symbol = ">"


class GE(CmpOp):
    __slots__ = ()
    symbol = ">="


class And(BinaryOp):
    __slots__ = ()
    symbol = "&&"


class Or(BinaryOp):
    __slots__ = ()
    symbol = "||"


class BitwiseOp(BinaryOp):
    """Base of the integer-only operators: & | ^ << >> (numpy's meaning, ``numeric.fold_int``)."""

    __slots__ = ()

    @staticmethod
    def _result_dtype(dt: DType) -> DType:
        if not dt.is_int:
            raise DTypeError(f"bitwise operators and shifts need integer operands, got {dt}")
        return dt


class BitwiseAnd(BitwiseOp):
    __slots__ = ()
    symbol = "&"


class BitwiseOr(BitwiseOp):
    __slots__ = ()
    symbol = "|"


class BitwiseXor(BitwiseOp):
    __slots__ = ()
    symbol = "^"


class ShiftLeft(BitwiseOp):
    """``a << b``; a count outside [0, bits) gives 0, as numpy's left_shift."""

    __slots__ = ()
    symbol = "<<"


class ShiftRight(BitwiseOp):
    """``a >> b``, arithmetic for signed types; a count outside [0, bits) gives the sign (-1 or
    0), as numpy's right_shift."""

    __slots__ = ()
    symbol = ">>"


def _same_value(a: PrimExpr, b: PrimExpr) -> bool:
    if a is b:
        return True
    if isinstance(a, (IntImm, FloatImm)) and isinstance(b, (IntImm, FloatImm)):
        return a.value == b.value
    # Unwrap implicit casts of the same variable (e.g. comparing int32 and int64 views).
    if isinstance(a, Cast) and isinstance(b, Cast):
        return _same_value(a.value, b.value)
    return False


class Not(PrimExpr):
    __slots__ = ("a",)
    _params = ("a",)
    _children = ("a",)

    def __init__(self, a: PrimExpr):
        self._init(a=a, dtype=a.dtype)


class Select(PrimExpr):
    """``true_value`` if ``condition`` else ``false_value``; only the chosen branch is evaluated,
    so a branch may read memory that is out of bounds when it is not chosen."""

    __slots__ = ("condition", "true_value", "false_value")
    _params = ("condition", "true_value", "false_value")
    _children = ("condition", "true_value", "false_value")

    def __init__(self, condition: PrimExpr, true_value: PrimExpr, false_value: PrimExpr):
        if not (isinstance(true_value, PrimExpr) and isinstance(false_value, PrimExpr)):
            true_value, false_value = _operand_pair(true_value, false_value, " (in tir.Select)")  # TVM's FFI converts
        condition = convert(condition)
        if not condition.dtype.is_bool:
            # as te.if_then_else: an integer holds where nonzero; a float is refused (LLVM would
            # reject the select, and TVM's Select also asks for a bool)
            condition = _as_bool(condition)
        if true_value.dtype != false_value.dtype:
            raise DTypeError(f"Select branches differ in dtype: {true_value.dtype} and {false_value.dtype}")
        self._init(condition=condition, true_value=true_value, false_value=false_value,
                   dtype=true_value.dtype)


class Call(PrimExpr):
    """A call of a named intrinsic (math functions, ``likely``)."""

    __slots__ = ("name", "args")
    _params = ("dtype", "name", "args")
    _children = ("args",)

    def __init__(self, dtype: str | DType, name: str, args: Iterable[PrimExpr]):
        self._init(dtype=as_dtype(dtype), name=name, args=tuple(args))

    @property
    def op(self) -> Any:
        """TVM's view of the called operator: ``call.op.name`` is "tir.exp", "tir.call_pure_extern" ..."""
        return Op(self.name if self.name.startswith("tir.") else f"tir.{self.name}")


class Op:
    """An operator by name, as ``tir.Call.op`` shows it in TVM (``call.op.name == "tir.exp"``);
    ``Op.get("tir.exp")`` makes one to compare with (``call.op.same_as(...)`` or ``==``)."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    @staticmethod
    def get(op_name: str) -> Op:
        """The operator named ``op_name`` (``"tir.exp"``; a bare ``"exp"`` means the same)."""
        if not isinstance(op_name, str) or not op_name:
            raise ExprError(f"Op.get expects an operator name such as 'tir.exp', got {op_name!r}")
        return Op(op_name if "." in op_name else f"tir.{op_name}")

    def same_as(self, other: object) -> bool:
        return self == other

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Op) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("Op", self.name))

    def __repr__(self) -> str:
        return f"Op({self.name})"


class Let(PrimExpr):
    """Bind ``var`` to ``value`` inside ``body``."""

    __slots__ = ("var", "value", "body")
    _params = ("var", "value", "body")
    _children = ("value", "body")

    def __init__(self, var: Var, value: PrimExpr, body: PrimExpr):
        if not isinstance(var, Var):
            raise ExprError(f"Let: expected a variable (te.var) to bind, got {type(var).__name__} '{var}'")
        value, body = convert(value), convert(body)  # tir.Let(x, 1, x + 1), as TVM accepts
        if value.dtype != var.dtype:
            value = value.astype(var.dtype) if isinstance(value, (IntImm, FloatImm)) else value
        self._init(var=var, value=value, body=body, dtype=body.dtype)


class TensorRead(PrimExpr):
    """Element ``indices`` of a tensor (before storage flattening)."""

    __slots__ = ("tensor", "indices")
    _params = ("tensor", "indices")
    _children = ("indices",)

    def __init__(self, tensor: Any, indices: Iterable[PrimExpr]):
        self._init(tensor=tensor, indices=tuple(indices), dtype=tensor.dtype)

    @property
    def producer(self) -> Any:
        """TVM's ``ProducerLoad.producer``: the tensor read."""
        return self.tensor


class Reduce(PrimExpr):
    """Output ``value_index`` of reducing ``source`` over ``axis`` with ``combiner``,
    counting only points where ``condition`` holds."""

    __slots__ = ("combiner", "source", "axis", "condition", "value_index")
    _params = ("combiner", "source", "axis", "condition", "value_index")
    _children = ("source", "condition")

    def __init__(self, combiner: Any, source: Iterable[PrimExpr], axis: Iterable[Any],
                 condition: PrimExpr, value_index: int):
        source = tuple(source)
        self._init(combiner=combiner, source=source, axis=tuple(axis), condition=condition,
                   value_index=value_index, dtype=source[value_index].dtype)


class Load(PrimExpr):
    """Read ``buffer[index]`` of a flat buffer; ``index`` may be a vector (Ramp), and
    ``predicate`` (a bool vector or None) masks lanes that must not be read."""

    __slots__ = ("buffer", "index", "predicate")
    _params = ("dtype", "buffer", "index", "predicate")
    _children = ("index", "predicate")

    def __init__(self, dtype: str | DType, buffer: Var, index: PrimExpr, predicate: PrimExpr | None = None):
        dt = as_dtype(dtype)
        self._init(dtype=dt.with_lanes(index.dtype.lanes) if dt.lanes == 1 else dt,
                   buffer=buffer, index=index, predicate=predicate)

    @property
    def indices(self) -> tuple[PrimExpr]:
        """TVM's ``BufferLoad.indices``: the flat index, as a one-element tuple."""
        return (self.index,)

    @property
    def buffer_var(self) -> Var:
        """TVM's ``Load.buffer_var`` (before BufferLoad): the buffer's data variable."""
        return self.buffer


class Ramp(PrimExpr):
    """The vector ``base + i*stride`` for i in [0, lanes)."""

    __slots__ = ("base", "stride", "lanes")
    _params = ("base", "stride", "lanes")
    _children = ("base", "stride")

    def __init__(self, base: PrimExpr, stride: PrimExpr, lanes: int):
        if not isinstance(base, PrimExpr) or not isinstance(stride, PrimExpr):  # tir.Ramp(0, 1, 4), as TVM takes
            base, stride = _operand_pair(base, stride, " (in Ramp)")
        self._init(base=base, stride=stride, lanes=lanes, dtype=base.dtype.with_lanes(lanes))


class Broadcast(PrimExpr):
    """The vector with ``value`` in each of ``lanes`` lanes."""

    __slots__ = ("value", "lanes")
    _params = ("value", "lanes")
    _children = ("value",)

    def __init__(self, value: PrimExpr, lanes: int):
        if not isinstance(value, PrimExpr):
            value = convert(value)
        self._init(value=value, lanes=lanes, dtype=value.dtype.with_lanes(lanes))


# --- constructors with promotion ------------------------------------------------------

def const(value: Any, dtype: str | DType | None = None) -> PrimExpr:
    """A constant; Python ints default to int32 (int64 when they do not fit), floats to float32."""
    if isinstance(value, PrimExpr):
        return value if dtype is None else cast(value, dtype)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (numbers.Real, np.bool_)):
        raise ExprError(f"cannot make a constant of {value!r} ({type(value).__name__})")
    if isinstance(value, (np.generic,)) and dtype is None:
        dtype = as_dtype(value.dtype)
        value = value.item()
    if dtype is None:
        if isinstance(value, (bool, np.bool_)):
            dtype = BOOL
        elif isinstance(value, numbers.Integral):
            dtype = INT32 if -2**31 <= int(value) < 2**31 else INT64
            numeric.check_fits(int(value), INT64, "integer constant")
        elif isinstance(value, numbers.Real):
            dtype = FLOAT32
        else:
            raise ExprError(f"cannot make a constant of {value!r} ({type(value).__name__})")
    dt = as_dtype(dtype)
    if dt.lanes > 1:  # a vector constant, as TVM makes it: the scalar in every lane
        return Broadcast(const(value, dt.element_of()), dt.lanes)
    if dt.is_float:
        return FloatImm(dt, numeric.check_float_fits(float(value), dt))
    if isinstance(value, float) and not float(value).is_integer():
        raise DTypeError(f"constant {value} does not fit dtype {dt}")
    if dt.is_bool:
        return IntImm(dt, int(bool(value)))
    return IntImm(dt, numeric.check_fits(int(value), dt))


def convert(value: Any) -> PrimExpr:
    """Turn a Python scalar (or an expression) into an expression."""
    if isinstance(value, PrimExpr):
        return value
    if hasattr(value, "asobject"):  # IterVar, TensorSlice
        return value.asobject()
    return const(value)


def cast(value: Any, dtype: str | DType) -> PrimExpr:
    """Convert an expression to ``dtype`` (a no-op when it already has that dtype)."""
    dt = as_dtype(dtype)
    value = convert(value)
    if value.dtype.lanes != 1 and dt.lanes == 1:
        dt = dt.with_lanes(value.dtype.lanes)
    if value.dtype == dt:
        return value
    if isinstance(value, IntImm) and dt.lanes == 1 and not dt.is_float:
        return IntImm(dt, value.value != 0 if dt.is_bool else value.value)  # wraps, as astype does
    if isinstance(value, IntImm) and dt.lanes == 1:
        with np.errstate(over="ignore"):  # 70000 -> float16 is inf, as astype gives (quietly: no warning leaks)
            return FloatImm(dt, float(np.array(value.value).astype(dt.numpy())))
    if isinstance(value, FloatImm) and dt.lanes == 1 and dt.is_float:
        return FloatImm(dt, value.value)
    if isinstance(value, FloatImm) and dt.lanes == 1 and dt.is_int:
        # numpy's conversion (the code generators' too): out-of-range values and NaN give what
        # x86's truncating conversion gives, not a Python wrap-around.
        with np.errstate(invalid="ignore"):
            return IntImm(dt, int(np.array([value.value], value.dtype.numpy()).astype(dt.numpy())[0]))
    return Cast(dt, value)


def _operand_pair(a: Any, b: Any, where: str) -> tuple[PrimExpr, PrimExpr]:
    """Convert two operands to expressions of one dtype (module doc of dtype.py)."""
    if hasattr(a, "asobject"):
        a = a.asobject()
    if hasattr(b, "asobject"):
        b = b.asobject()
    a_py, b_py = not isinstance(a, PrimExpr), not isinstance(b, PrimExpr)
    if a_py and b_py:
        return const(a), const(b)
    if a_py:
        a = _scalar_like(a, b.dtype, where)
    if b_py:
        b = _scalar_like(b, a.dtype, where)
    if a.dtype != b.dtype:
        dt = promote(a.dtype, b.dtype, where)
        a, b = cast(a, dt), cast(b, dt)
    return a, b


def _scalar_like(value: Any, dt: DType, where: str) -> PrimExpr:
    if isinstance(value, (bool, np.bool_)):
        return const(value, dt.element_of() if not dt.is_bool else BOOL)
    if isinstance(value, numbers.Integral):
        return const(int(value), dt.element_of() if not dt.is_bool else INT32)
    if isinstance(value, numbers.Real):
        return const(float(value), dt.element_of() if dt.is_float else FLOAT32)
    raise ExprError(f"cannot use {value!r} ({type(value).__name__}) in an expression{where}")


def binary(cls: type[BinaryOp], a: Any, b: Any) -> PrimExpr:
    """Build ``cls(a, b)`` after promoting operands, folding integer constants."""
    a, b = _operand_pair(a, b, f" (in '{cls.symbol}')")
    if a.dtype.is_handle:
        raise DTypeError(f"cannot apply '{cls.symbol}' to {a.dtype}")
    if a.dtype.is_bool and cls in (Sub, Div, Mod, FloorDiv, FloorMod):
        # numpy refuses bool - bool and divides bools as int8; a bool result would be xor or
        # a truth value, never numpy's answer.
        raise DTypeError(f"cannot apply '{cls.symbol}' to booleans in '{a} {cls.symbol} {b}' (numpy refuses bool "
                         f"subtraction and divides bools as int8): use logical ops, or cast to an integer type first")
    if cls in (Div, Mod, FloorDiv, FloorMod) and isinstance(b, IntImm) and b.value == 0:
        raise ExprError(f"division by the constant zero in '{a} {cls.symbol} 0'")
    if isinstance(a, IntImm) and isinstance(b, IntImm) and a.dtype.lanes == 1:
        folded = numeric.fold_int(cls.__name__, a.value, b.value, a.dtype)
        if folded is not None:
            return IntImm(BOOL if issubclass(cls, CmpOp) else a.dtype, folded)
    return cls(a, b)


def logical(cls: type[BinaryOp], a: Any, b: Any) -> PrimExpr:
    """``&&`` / ``||`` of two conditions (non-bool integers are compared with zero)."""
    a, b = _as_bool(a), _as_bool(b)
    if isinstance(a, IntImm) and isinstance(b, IntImm):
        return const(bool(numeric.fold_int(cls.__name__, a.value, b.value, BOOL)), BOOL)
    return cls(a, b)


def _and_or(logical_cls: type[BinaryOp], bitwise_cls: type[BinaryOp], a: Any, b: Any) -> PrimExpr:
    """``a & b`` / ``a | b``: logical of two conditions, else bitwise; a condition and an
    integer promote as numpy (and TVM) promote them, so ``(A > 0) & 2`` is 0, not True."""
    if all(isinstance(x, (bool, np.bool_)) or (isinstance(x, PrimExpr) and x.dtype.is_bool) for x in (a, b)):
        return logical(logical_cls, a, b)
    return bitwise(bitwise_cls, a, b)


def bitwise(cls: type[BinaryOp], a: Any, b: Any) -> PrimExpr:
    """``a & b``, ``|``, ``^``, ``<<``, ``>>`` of integers (promoted to one dtype, constants
    folded); & | ^ of two conditions are their logical and, or, and inequality."""
    a, b = _operand_pair(a, b, f" (in '{cls.symbol}')")
    if a.dtype.is_bool and cls in (BitwiseAnd, BitwiseOr, BitwiseXor):
        return binary(NE, a, b) if cls is BitwiseXor else logical(And if cls is BitwiseAnd else Or, a, b)
    if not a.dtype.is_int:
        raise DTypeError(f"'{cls.symbol}' needs integer operands, got {a.dtype} in '{a} {cls.symbol} {b}'")
    return binary(cls, a, b)


def bitwise_not(a: Any) -> PrimExpr:
    """``~a``: every bit of an integer flipped (logical not of a condition)."""
    a = convert(a)
    if a.dtype.is_bool:
        return logical_not(a)
    if not a.dtype.is_int:
        raise DTypeError(f"'~' needs an integer operand, got {a.dtype} in '~{a}'")
    ones = (1 << a.dtype.bits) - 1 if a.dtype.kind == "uint" else -1
    return binary(BitwiseXor, a, const(ones, a.dtype.element_of()))


def logical_not(a: Any) -> PrimExpr:
    a = _as_bool(a)
    if isinstance(a, IntImm):
        return const(not a.value, BOOL)
    return Not(a)


def _as_bool(a: Any) -> PrimExpr:
    a = convert(a)
    if a.dtype.is_bool:
        return a
    if a.dtype.is_float:
        raise DTypeError(f"a condition must be bool or int, got {a.dtype} expression '{a}'")
    return binary(NE, a, 0)


def _chain(conds: tuple, cls: type[BinaryOp], empty: bool) -> PrimExpr:
    """``cls`` (And, Or) over the conditions, given one by one or as one list; ``empty`` if none."""
    if len(conds) == 1 and isinstance(conds[0], (list, tuple)):
        conds = tuple(conds[0])
    if not conds:
        return const(empty)
    out = _as_bool(conds[0])
    for c in conds[1:]:
        out = logical(cls, out, c)
    return out


def all_(*conds: Any) -> PrimExpr:
    """Logical and of all conditions (te.all)."""
    return _chain(conds, And, True)


def any_(*conds: Any) -> PrimExpr:
    """Logical or of all conditions (te.any)."""
    return _chain(conds, Or, False)


def all_of(*conds: Any) -> PrimExpr:
    """``te.all``: the logical and of one or more conditions (none is refused, as TVM refuses it)."""
    if not conds:
        raise ExprError("te.all needs at least one condition")
    return all_(*conds)


def any_of(*conds: Any) -> PrimExpr:
    """``te.any``: the logical or of one or more conditions (none is refused, as TVM refuses it)."""
    if not conds:
        raise ExprError("te.any needs at least one condition")
    return any_(*conds)


def if_then_else(cond: Any, t: Any, f: Any) -> PrimExpr:
    """``t`` where ``cond`` holds, else ``f``; only the chosen side is evaluated."""
    cond = _as_bool(cond)
    t, f = _operand_pair(t, f, " (in if_then_else)")
    if isinstance(cond, IntImm):
        return t if cond.value else f
    return Select(cond, t, f)


def min_(a: Any, b: Any) -> PrimExpr:
    return binary(Min, a, b)


def max_(a: Any, b: Any) -> PrimExpr:
    return binary(Max, a, b)


# The names the te and tir facades re-export (te adds all_/any_ as all/any).
__all__ = ["PrimExpr", "Var", "IntImm", "FloatImm", "Cast", "Add", "Sub", "Mul", "Div", "Mod", "FloorDiv", "FloorMod",
           "Min", "Max", "EQ", "NE", "LT", "LE", "GT", "GE", "And", "Or", "Not", "BitwiseAnd", "BitwiseOr",
           "BitwiseXor", "ShiftLeft", "ShiftRight", "Select", "Call", "Let", "TensorRead",
           "Reduce", "Load", "Ramp", "Broadcast", "cast", "const", "if_then_else"]
