"""Data types of expressions and tensors, and the promotion rules for mixing them.

Promotion rules (applied by binary operators, ``if_then_else`` and reducers):

1. Same dtype: unchanged.
2. bool with any number: the number's dtype.
3. Two ints of the same signedness, or two floats: the wider one.
4. Signed with unsigned int: a signed int wide enough for both (int32 + uint16 -> int32,
   int32 + uint32 -> int64); uint64 with any signed int is an error (no dtype holds both).
5. Int with float: the float dtype (int64 + float32 -> float32, as in TVM).
6. Python scalars take the dtype of the expression they meet: an ``int`` adopts an int or
   float dtype, a ``float`` adopts a float dtype and turns an int expression into float32.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from ..errors import DTypeError

_KINDS = ("bool", "int", "uint", "float", "handle")
_VALID_BITS = {"bool": (1,), "int": (8, 16, 32, 64), "uint": (8, 16, 32, 64),
               "float": (16, 32, 64), "handle": (64,)}
_PATTERN = re.compile(r"^(bool|int|uint|float|handle)(\d*)(?:x(\d+))?$")


@dataclass(frozen=True, slots=True, eq=False)
class DType:
    """A scalar or vector dtype: kind (bool/int/uint/float/handle), bits and vector lanes."""

    kind: str
    bits: int
    lanes: int = 1

    def __str__(self) -> str:
        base = "bool" if self.kind == "bool" else f"{self.kind}{self.bits}"
        return base if self.lanes == 1 else f"{base}x{self.lanes}"

    # TVM code compares dtypes with strings (A.dtype == "float32") and hands them to numpy
    # (x.astype(A.dtype)): a DType equals its name and exposes the numpy dtype as .dtype.
    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        if isinstance(other, DType):
            return (self.kind, self.bits, self.lanes) == (other.kind, other.bits, other.lanes)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    @property
    def dtype(self) -> np.dtype:
        """The numpy dtype, so that np.dtype(A.dtype) and x.astype(A.dtype) work."""
        return self.numpy()

    # In TVM a dtype *is* its name (a str): code tests '"int" in A.dtype', calls
    # A.dtype.startswith("float"), builds names with "T_" + A.dtype and formats it in f-strings.
    def __contains__(self, part: str) -> bool:
        return part in str(self)

    def __add__(self, other: str) -> str:
        return str(self) + other if isinstance(other, str) else NotImplemented

    def __radd__(self, other: str) -> str:
        return other + str(self) if isinstance(other, str) else NotImplemented

    def __len__(self) -> int:
        return len(str(self))

    def __getitem__(self, index: int | slice) -> str:
        return str(self)[index]

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __getattr__(self, name: str) -> object:
        # str's own methods (startswith, split, replace, lower ...) on the name; dunders and
        # anything str lacks stay missing, so copy and pickle see an ordinary object
        if not name.startswith("_") and hasattr(str, name):
            return getattr(str(self), name)
        raise AttributeError(f"'DType' object has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"DType('{self}')"

    @property
    def type_code(self) -> int:
        """TVM's DLDataType code (``tvm.DataTypeCode``): 0 int, 1 uint (and bool), 2 float, 3 handle."""
        return {"int": 0, "uint": 1, "bool": 1, "float": 2, "handle": 3}[self.kind]

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        """True for signed and unsigned integers (not bool)."""
        return self.kind in ("int", "uint")

    @property
    def is_signed(self) -> bool:
        return self.kind == "int"

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def is_handle(self) -> bool:
        return self.kind == "handle"

    @property
    def bytes(self) -> int:
        """Size of one element in memory (bool is stored as one byte)."""
        return max(1, self.bits // 8) * self.lanes

    def with_lanes(self, lanes: int) -> DType:
        return DType(self.kind, self.bits, lanes)

    def element_of(self) -> DType:
        return DType(self.kind, self.bits, 1)

    def numpy(self) -> np.dtype:
        """The numpy dtype of one element."""
        if self.kind == "handle":
            raise DTypeError("handle has no numpy dtype")
        return np.dtype("bool" if self.kind == "bool" else f"{self.kind}{self.bits}")


@cache
def _parse(text: str) -> DType:
    m = _PATTERN.match(text)
    if not m:
        raise DTypeError(f"unknown dtype '{text}' (expected e.g. float32, int64, uint8, bool)")
    kind, bits, lanes = m.group(1), m.group(2), m.group(3)
    nbits = int(bits) if bits else (1 if kind == "bool" else 64 if kind == "handle" else 32)
    if kind == "bool" and bits and nbits != 1:
        raise DTypeError(f"unknown dtype '{text}'")
    if nbits not in _VALID_BITS[kind]:
        raise DTypeError(f"unsupported dtype '{text}': {kind} comes in {_VALID_BITS[kind]} bits")
    if lanes and int(lanes) < 1:
        raise DTypeError(f"unsupported dtype '{text}': a vector has at least 1 lane")
    return DType(kind, nbits, int(lanes) if lanes else 1)


def as_dtype(value: str | DType | np.dtype | type) -> DType:
    """Turn a dtype string, numpy dtype or DType into a DType."""
    if isinstance(value, DType):
        return value
    if isinstance(value, str):
        return _parse(value.strip())
    if value is None:  # numpy reads None as float64: never what a caller leaving it out meant
        raise DTypeError("a dtype is required (e.g. 'float32'), got None")
    try:
        npd = np.dtype(value)
    except (TypeError, ValueError) as exc:
        raise DTypeError(f"unknown dtype {value!r}") from exc
    if npd == np.bool_:
        return _parse("bool")
    return _parse(npd.name)


BOOL = as_dtype("bool")
INT32 = as_dtype("int32")
INT64 = as_dtype("int64")
FLOAT32 = as_dtype("float32")
FLOAT64 = as_dtype("float64")
HANDLE = as_dtype("handle")


def promote(a: DType, b: DType, where: str = "") -> DType:
    """The dtype two operands are converted to before a binary operation (see module doc)."""
    if a == b:
        return a
    if a.lanes != b.lanes and a.lanes != 1 and b.lanes != 1:
        raise DTypeError(f"cannot combine vectors {a} and {b}{where}")
    lanes = max(a.lanes, b.lanes)
    a, b = a.element_of(), b.element_of()
    if a.is_handle or b.is_handle:
        raise DTypeError(f"cannot combine {a} and {b}{where}")
    if a.is_bool:
        return b.with_lanes(lanes)
    if b.is_bool:
        return a.with_lanes(lanes)
    if a.is_float or b.is_float:
        if a.is_float and b.is_float:
            return (a if a.bits >= b.bits else b).with_lanes(lanes)
        return (a if a.is_float else b).with_lanes(lanes)
    if a.kind == b.kind:
        return (a if a.bits >= b.bits else b).with_lanes(lanes)
    signed, unsigned = (a, b) if a.is_signed else (b, a)
    if unsigned.bits >= 64:
        raise DTypeError(f"cannot combine {a} and {b}{where}: no integer dtype holds both; "
                         "cast one side with .astype()")
    bits = max(signed.bits, unsigned.bits * 2)
    return DType("int", bits, lanes)
