"""Bad input to the public API gets a tensorlang error naming what is wrong and where, never a bare
Python exception from deep inside, a hang or a silent wrong answer.

Each row of CASES is one input of a bad-input campaign: a function that feeds it to tensorlang, the
error class expected and a fragment of its message.  The rows marked "fixed" were other exceptions,
hangs or wrong answers before; the others keep what already worked.  OK_CASES are borderline inputs
that must keep working (and give numpy's answer)."""

from __future__ import annotations

import functools
import time
import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune, te
from tensorlang.autotune.space import ConfigSpace, InstantiationError, SplitSpace
from tensorlang.autotune.task import create
from tensorlang.autotune.tuner import RandomTuner
from tensorlang.errors import (
    ArgumentError,
    BuildError,
    DTypeError,
    ExprError,
    LoweringError,
    ScheduleError,
    TargetError,
    TensorLangError,
)


# --- small computations ------------------------------------------------------------------
def _mm(n=8):
    A = te.placeholder((n, n), name="A")
    B = te.placeholder((n, n), name="B")
    k = te.reduce_axis((0, n), name="k")
    C = te.compute((n, n), lambda i, j: te.sum(A[i, k] * B[k, j], axis=k), name="C")
    return A, B, C, te.create_schedule(C.op)


def _chain(n=8):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    C = te.compute((n,), lambda i: B[i] * 2.0, name="C")
    return A, B, C, te.create_schedule(C.op)


@functools.cache
def _vadd():
    A = te.placeholder((8,), name="A")
    B = te.placeholder((8,), name="B")
    C = te.compute((8,), lambda i: A[i] + B[i], name="C")
    return tl.build(te.create_schedule(C.op), [A, B, C], name="vadd")


def _call(*args):
    _vadd()(*args)


def _f32(*shape):
    return np.ones(shape, "float32")


def _read_only(a):
    a.flags.writeable = False
    return a


def _compute(fn, shape=(4, 5), **kw):
    A = te.placeholder((4, 5), name="A")
    return te.compute(shape, lambda *i: fn(A, *i), name="B", **kw)


def _sum(body, n=8):
    A = te.placeholder((n, n), name="A")
    k = te.reduce_axis((0, n), name="k")
    return te.compute((n,), lambda i: body(A, i, k), name="B")


def _with_knobs(define, name):
    """A task whose template calls ``define(cfg, B)`` while its space is collected."""
    @autotune.template(name)
    def template(n):
        A = te.placeholder((n,), name="A")
        B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
        define(autotune.get_config(), B)
        return te.create_schedule(B.op), [A, B]
    return create(name, (16,), target="llvm")


def _template_returning(value, name):
    @autotune.template(name)
    def template(n):
        if isinstance(value, Exception):
            raise value
        return value
    return create(name, (16,), target="llvm")


def _split_task():
    def define(cfg, B):
        cfg.define_split("s", B.op.axis[0])
    return _with_knobs(define, "bad_input/split")


def _failing_constraint():
    def define(cfg, B):
        cfg.define_knob("k", [1, 2])
        cfg.add_constraint(lambda c: 1 / 0, "div")
    return _with_knobs(define, "bad_input/constraint")


def _unchanged_after(primitive):
    """The primitive raises, and leaves the schedule as it was (no stray stage)."""
    A, B, C, s = _mm()
    before = len(s.stages)
    try:
        primitive(s, A, C)
    finally:
        assert len(s.stages) == before


def _raises_quickly(fn, seconds=10.0):
    start = time.monotonic()
    try:
        fn()
    finally:
        assert time.monotonic() - start < seconds


def _iterate(x):
    return list(x)


# --- (id, input, expected error class, message fragment) ----------------------------------
CASES = [
    # schedule primitives (fixed)
    ("cache_write of an op", lambda: _mm()[3].cache_write(_mm()[2].op, "local"), ScheduleError,
     "cache_write expects a tensor"),
    ("cache_write of no tensors", lambda: _mm()[3].cache_write([], "local"), ScheduleError,
     "cache_write expects a tensor"),
    ("cache_read bad scope", lambda: _unchanged_after(lambda s, A, C: s.cache_read(A, "sharedd", [C])),
     ScheduleError, "cache_read of A: unknown storage scope 'sharedd'"),
    ("cache_write bad scope", lambda: _unchanged_after(lambda s, A, C: s.cache_write(C, None)),
     ScheduleError, "cache_write of C: unknown storage scope None"),
    ("rfactor factor_axis str", lambda: (lambda A, B, C, s: s.rfactor(C, s[C].split(C.op.reduce_axis[0], 4)[1],
                                                                   factor_axis="0"))(*_mm()),
     ScheduleError, "stage C: rfactor: factor_axis must be an integer, got '0'"),
    ("rfactor factor_axis None", lambda: (lambda A, B, C, s: s.rfactor(C, s[C].split(C.op.reduce_axis[0], 4)[1],
                                                                    factor_axis=None))(*_mm()),
     ScheduleError, "factor_axis must be an integer"),
    ("rfactor factor_axis fraction", lambda: (lambda A, B, C, s: s.rfactor(
        C, s[C].split(C.op.reduce_axis[0], 4)[1], factor_axis=1.5))(*_mm()), ExprError, "factor_axis: 1.5 is not"),
    ("storage_align factor None", lambda: (lambda A, B, C, s: s[B].storage_align(B.op.axis[0], None, 0))(*_chain()),
     ScheduleError, "stage B: storage_align factor must be an integer, got None"),
    ("storage_align factor str", lambda: (lambda A, B, C, s: s[B].storage_align(B.op.axis[0], "x", 0))(*_chain()),
     ScheduleError, "storage_align factor must be an integer"),
    ("storage_align factor fraction", lambda: (lambda A, B, C, s: s[B].storage_align(B.op.axis[0], 2.5, 0))(
        *_chain()), ExprError, "storage_align factor: 2.5 is not a whole number"),
    ("storage_align offset list", lambda: (lambda A, B, C, s: s[B].storage_align(B.op.axis[0], 4, [1]))(*_chain()),
     ScheduleError, "storage_align offset must be an integer"),
    ("create_group outputs None", lambda: (lambda A, B, C, s: s.create_group(outputs=None, inputs=A))(*_chain()),
     ScheduleError, "create_group: outputs must be tensors"),
    ("pragma type None", lambda: (lambda A, B, C, s: s[C].pragma(C.op.axis[0], None))(*_chain()), ScheduleError,
     "stage C: pragma on axis i: the pragma type must be a string"),
    ("split factor is an axis", lambda: (lambda A, B, C, s: s[C].split(C.op.axis[0], factor=C.op.axis[1]))(*_mm()),
     ScheduleError, "stage C: split of i: factor must not depend on loop variables"),
    ("split nparts uses an axis", lambda: (lambda A, B, C, s: s[C].split(C.op.axis[0], nparts=C.op.axis[1] + 1))(
        *_mm()), ScheduleError, "nparts must not depend on loop variables"),
    # schedule primitives (already worked)
    ("split factor 0", lambda: (lambda A, B, C, s: s[C].split(C.op.axis[0], factor=0))(*_mm()), ScheduleError,
     "stage C: split of i: factor must be a positive integer, got 0"),
    ("split factor 2**31", lambda: (lambda A, B, C, s: s[C].split(C.op.axis[0], factor=2**31))(*_mm()),
     ScheduleError, "below 2\\*\\*31"),
    ("split nparts 1.5", lambda: (lambda A, B, C, s: s[C].split(C.op.axis[0], nparts=1.5))(*_mm()), ExprError,
     "nparts: 1.5 is not a whole number"),
    ("split a tensor", lambda: (lambda A, B, C, s: s[C].split(A, factor=2))(*_mm()), ScheduleError,
     "split expects an axis"),
    ("fuse non-adjacent", lambda: (lambda A, B, C, s: (s[C].reorder(C.op.axis[0], C.op.reduce_axis[0],
                                                                    C.op.axis[1]),
                                                       s[C].fuse(C.op.axis[0], C.op.axis[1])))(*_mm()),
     ScheduleError, "not adjacent"),
    ("reorder duplicate", lambda: (lambda A, B, C, s: s[C].reorder(C.op.axis[0], C.op.axis[0]))(*_mm()),
     ScheduleError, "reorder was given axis i twice"),
    ("axis of another stage", lambda: (lambda A, B, C, s: s[C].vectorize(B.op.axis[0]))(*_chain()), ScheduleError,
     "belongs to stage B"),
    ("compute_at itself", lambda: (lambda A, B, C, s: s[B].compute_at(s[B], B.op.axis[0]))(*_chain()),
     ScheduleError, "cannot compute a stage at itself"),
    ("compute_at cycle", lambda: (lambda A, B, C, s: (s[B].compute_at(s[C], C.op.axis[0]),
                                                      s[C].compute_at(s[B], B.op.axis[0]), tl.lower(s, [A, C])))(
        *_chain()), LoweringError, "form a cycle"),
    ("compute_inline reduction", lambda: (lambda A, B, C, s: s[C].compute_inline())(*_mm()), ScheduleError,
     "cannot inline a reduction"),
    ("vectorize reduction axis", lambda: (lambda A, B, C, s: s[C].vectorize(C.op.reduce_axis[0]))(*_mm()),
     ScheduleError, "cannot vectorize reduction axis k"),
    ("unroll 10**6 iterations", lambda: (lambda A, B: (lambda s: (s[B].unroll(B.op.axis[0]), tl.lower(s, [A, B])))(
        te.create_schedule(B.op)))(*(lambda A: (A, te.compute((10**6,), lambda i: A[i] * 2.0, name="B")))(
            te.placeholder((10**6,), name="A"))), LoweringError, "cannot unroll loop i"),
    ("bind on llvm", lambda: (lambda A, B, C, s: (s[C].bind(C.op.axis[0], te.thread_axis("threadIdx.x")),
                                                  tl.build(s, [A, C])))(*_chain()), TargetError, "needs a GPU target"),
    ("unknown thread tag", lambda: te.thread_axis("threadIdx.w"), ExprError, "unknown thread tag 'threadIdx.w'"),
    ("set_scope unknown", lambda: (lambda A, B, C, s: s[B].set_scope("sharedd"))(*_chain()), ScheduleError,
     "unknown storage scope"),
    ("rfactor data axis", lambda: (lambda A, B, C, s: s.rfactor(C, C.op.axis[0]))(*_mm()), ScheduleError,
     "is not a reduction axis"),
    # lowering (fixed)
    ("arguments as a set", lambda: (lambda A, B, C, s: tl.lower(s, {A, C}))(*_chain()), LoweringError,
     "got a set, which has no order"),
    # lowering and build (already worked)
    ("missing input", lambda: (lambda A, B, C, s: tl.lower(s, [B, C]))(*_mm()), LoweringError,
     "tensor A is used but is neither in the argument list"),
    ("argument twice", lambda: (lambda A, B, C, s: tl.lower(s, [A, A, B, C]))(*_mm()), LoweringError,
     "appears twice"),
    ("unknown target", lambda: (lambda A, B, C, s: tl.build(s, [A, C], target="foo"))(*_chain()), TargetError,
     "unknown target 'foo'"),
    ("unknown target option", lambda: (lambda A, B, C, s: tl.build(s, [A, C], target="llvm -foo=1"))(*_chain()),
     TargetError, "unknown option"),
    # build (fixed)
    ("build of None", lambda: tl.build(None, []), TargetError, "build expects a schedule"),
    ("build of a tensor", lambda: (lambda A, B, C, s: tl.build(C, [A, C]))(*_chain()), TargetError,
     "build expects a schedule"),
    ("lower of None", lambda: tl.lower(None, []), TargetError, "lower expects a schedule"),
    ("build name None", lambda: (lambda A, B, C, s: tl.build(s, [A, C], name=None))(*_chain()), TargetError,
     "build\\(name=...\\) must be a non-empty string"),
    ("build name empty", lambda: (lambda A, B, C, s: tl.build(s, [A, C], name=""))(*_chain()), TargetError,
     "non-empty string of printable ASCII"),
    ("build name non-ASCII", lambda: (lambda A, B, C, s: tl.build(s, [A, C], name="fü"))(*_chain()), TargetError,
     "printable ASCII"),
    ("lower simple_mode str", lambda: (lambda A, B, C, s: tl.lower(s, [A, C], simple_mode="yes"))(*_chain()),
     ArgumentError, "simple_mode"),
    # te declarations (fixed)
    ("iterating a tensor", lambda: _raises_quickly(lambda: _iterate(te.placeholder((4,), name="A"))), ExprError,
     "tensor A cannot be iterated"),
    ("iterating a tensor slice", lambda: _raises_quickly(lambda: _iterate(te.placeholder((4, 4), name="A")[0])),
     ExprError, "tensor A cannot be iterated"),
    ("compute of None", lambda: te.compute((4,), None, name="B"), ExprError,
     "compute 'B': the second argument must be a function"),
    ("compute keyword-only index", lambda: te.compute((4,), lambda i, *, k: i, name="B"), ExprError,
     "keyword-only argument 'k' has no default"),
    ("compute returns None", lambda: _compute(lambda A, i, j: None), ExprError,
     "compute 'B': the function must return an expression"),
    ("compute tag int", lambda: _compute(lambda A, i, j: A[i, j], tag=3), ExprError, "tag must be a string"),
    ("compute attrs list", lambda: _compute(lambda A, i, j: A[i, j], attrs=[1]), ExprError, "attrs must be a dict"),
    ("placeholder name None", lambda: te.placeholder((4,), name=None), ExprError,
     "placeholder: a name must be a string, got None"),
    ("placeholder name with NUL", lambda: te.placeholder((4,), name="a\x00b"), ExprError, "without NUL"),
    ("compute name too long", lambda: te.compute((4,), lambda i: i, name="a" * 5000), ExprError,
     "at most 1000 characters"),
    ("var name None", lambda: te.var(None), ExprError, "te.var: a name must be a string"),
    ("var dtype None", lambda: te.var("n", None), DTypeError, "a dtype is required"),
    ("placeholder dtype handle", lambda: te.placeholder((4,), "handle", name="A"), DTypeError,
     "placeholder A: a tensor holds scalar elements"),
    ("placeholder vector dtype", lambda: te.placeholder((4,), "float32x4", name="A"), DTypeError,
     "not float32x4"),
    ("dtype of 0 lanes", lambda: te.var("n", "float32x0"), DTypeError, "at least 1 lane"),
    ("const of a str", lambda: te.const("1.5", "float32"), ExprError, "cannot make a constant of '1.5'"),
    ("const of None", lambda: te.const(None, "float32"), ExprError, "cannot make a constant of None"),
    ("const of bytes", lambda: te.const(b"1", "int32"), ExprError, "cannot make a constant of b'1'"),
    ("const beyond float32", lambda: te.const(1e40, "float32"), DTypeError, "constant 1e\\+40 does not fit float32"),
    ("const beyond float16", lambda: te.const(1e6, "float16"), DTypeError, "does not fit float16"),
    ("float16 plus a huge scalar", lambda: te.placeholder((4,), "float16", name="H")[0] + 1e10, DTypeError,
     "does not fit float16"),
    ("reduce_axis negative extent", lambda: te.reduce_axis((0, -4), name="k"), ExprError,
     "reduce_axis k: the range \\(0, -4\\) has a negative extent"),
    ("reduce_axis reversed", lambda: te.reduce_axis((5, 2), name="k"), ExprError, "negative extent \\(-3\\)"),
    ("reduce_axis None bound", lambda: te.reduce_axis((None, 4), name="k"), ExprError,
     "reduce_axis k: the range \\(None, 4\\) must hold integers"),
    ("reduce_axis float var", lambda: te.reduce_axis((0, te.var("x", "float32")), name="k"), ExprError,
     "reduce_axis k: an index or extent must be an integer"),
    ("sum over an axis twice", lambda: _sum(lambda A, i, k: te.sum(A[i, k], axis=[k, k])), ExprError,
     "te.sum: axis k is given twice"),
    ("sum where float", lambda: _sum(lambda A, i, k: te.sum(A[i, k], axis=k, where=A[i, k])), DTypeError,
     "where= must be a condition"),
    ("sum axis empty list", lambda: _sum(lambda A, i, k: te.sum(A[i, 0], axis=[])), ExprError, "needs axis="),
    ("comm_reducer of None", lambda: te.comm_reducer(None, lambda t: 0.0), ExprError,
     "fcombine must be a function"),
    ("comm_reducer wrong arity", lambda: _sum(lambda A, i, k: te.comm_reducer(lambda x: x, lambda t: 0.0)(
        A[i, k], axis=k)), ExprError, "fcombine <lambda>\\(x\\) is called with 2 argument"),
    ("scan of None", lambda: te.scan(None, None, None), ExprError, "scan 'scan': init must be a tensor"),
    ("extern fcompute None", lambda: te.extern((4,), [te.placeholder((4,), name="A")], None), ExprError,
     "fcompute must be a function"),
    ("tensor intrinsic fcompute None", lambda: te.decl_tensor_intrin(_chain()[1].op, None), ExprError,
     "fcompute must be a function"),
    ("index with a str", lambda: _compute(lambda A, i, j: A["a", j]), ExprError,
     "tensor A is indexed with 'a' \\(str\\) in dimension 0"),
    ("shape with a str", lambda: te.placeholder(("4",), name="A"), ExprError,
     "placeholder A: dimension 0 of the shape is '4'"),
    # te declarations (already worked)
    ("compute arity", lambda: te.compute((4, 5), lambda i: i, name="B"), ExprError,
     "compute 'B': the function takes 1 index argument\\(s\\) but the shape has 2"),
    ("too many indices", lambda: _compute(lambda A, i, j: A[i, j, 0]), ExprError, "indexed with 3"),
    ("float index", lambda: _compute(lambda A, i, j: A[1.5, j]), ExprError, "indices must be integers"),
    ("nested reduction", lambda: _sum(lambda A, i, k: te.sum(A[i, k], axis=k) + 1.0), ExprError,
     "a reduction must be the outermost operation"),
    ("unknown dtype", lambda: te.placeholder((4,), "float31", name="A"), DTypeError, "float31"),
    ("int8 constant 300", lambda: te.const(300, "int8"), DTypeError, "constant 300 does not fit int8"),
    ("uint64 with int32", lambda: te.placeholder((4,), "uint64", name="U")[0] + te.var("n"), DTypeError,
     "cannot combine uint64 and int32"),
    ("negative shape", lambda: te.placeholder((-1,), name="A"), ExprError, "dimension 0 of the shape is negative"),
    # runtime (fixed)
    ("nd.empty negative", lambda: tl.nd.empty((-1,)), ArgumentError, "nd.empty: the shape must be"),
    ("nd.empty None", lambda: tl.nd.empty(None), ArgumentError, "nd.empty: the shape must be"),
    ("nd.empty unknown dtype", lambda: tl.nd.empty((3,), "float31"), ArgumentError, "nd.empty: unknown dtype"),
    ("nd.array ragged", lambda: tl.nd.array([[1, 2], [3]]), ArgumentError, "nd.array: cannot make an array"),
    ("nd.array unknown dtype", lambda: tl.nd.array([1.0], dtype="float31"), ArgumentError,
     "nd.array: unknown dtype"),
    ("nd.array of None", lambda: tl.nd.array(None), ArgumentError, "gives an array of object"),
    ("nd.array of a str", lambda: tl.nd.array("abc"), ArgumentError, "arrays hold bools, integers or floats"),
    ("nd.array device str", lambda: tl.nd.array([1.0], device="gpu0"), ArgumentError,
     "device must be tl.cpu"),
    ("copyfrom strings", lambda: tl.nd.array(np.zeros(3, "float32")).copyfrom(["a", "b", "c"]), ArgumentError,
     "copyfrom"),
    ("device None", lambda: tl.device(None), ArgumentError, "device expects a device name"),
    ("cpu index str", lambda: tl.cpu("x"), ArgumentError, "a device index must be a non-negative int"),
    ("load_module None", lambda: tl.runtime.load_module(None), BuildError, "load_module expects the path"),
    # calls of built functions (already worked)
    ("call too few", lambda: _call(_f32(8), _f32(8)), ArgumentError, "vadd expects 3 arguments"),
    ("call wrong shape", lambda: _call(_f32(8), _f32(7), _f32(8)), ArgumentError,
     "argument B: dimension 0 must be 8, got 7"),
    ("call wrong dtype", lambda: _call(_f32(8), np.ones(8), _f32(8)), ArgumentError,
     "argument B: expected float32, got float64"),
    ("call non-contiguous", lambda: _call(_f32(8), _f32(16)[::2], _f32(8)), ArgumentError,
     "argument B is not C-contiguous"),
    ("call read-only output", lambda: _call(_f32(8), _f32(8), _read_only(_f32(8))), ArgumentError,
     "argument C is read-only"),
    ("call aliasing", lambda: (lambda a: _call(a, _f32(8), a))(_f32(8)), ArgumentError,
     "arguments A and C overlap"),
    ("call with a list", lambda: _call([1.0] * 8, _f32(8), _f32(8)), ArgumentError,
     "argument A: expected a numpy array"),
    ("call with a 0-d array", lambda: _call(np.array(1.0, "float32"), _f32(8), _f32(8)), ArgumentError,
     "expected 1 dimensions"),
    ("call big-endian", lambda: _call(_f32(8).astype(">f4"), _f32(8), _f32(8)), ArgumentError, "got >f4"),
    # autotune (fixed)
    ("task of a list name", lambda: create(["x"], (16,)), TensorLangError, "a task names its template by a string"),
    ("task args None", lambda: create(_split_task().name, None), TensorLangError, "args must be a tuple"),
    ("template raises", lambda: _template_returning(ValueError("boom"), "bad_input/raises"), TensorLangError,
     "template 'bad_input/raises' raised ValueError for args \\(16,\\) while its config space was collected: boom"),
    ("template returns None", lambda: _template_returning(None, "bad_input/none"), TensorLangError,
     "must return \\(schedule, \\[tensors\\]\\), got None"),
    ("template returns no schedule", lambda: _template_returning((3, []), "bad_input/three"), TensorLangError,
     "must return \\(schedule, \\[tensors\\]\\)"),
    ("missing knob", lambda: ConfigSpace()["nope"], InstantiationError, "config space has no knob 'nope'"),
    ("num_outputs str", lambda: _with_knobs(lambda cfg, B: cfg.define_split("s", B.op.axis[0], num_outputs="2"),
                                            "bad_input/nout"), InstantiationError,
     "define_split: num_outputs must be an int >= 2, got '2'"),
    ("split into 50 parts", lambda: _raises_quickly(lambda: SplitSpace(1024, num_outputs=50)), InstantiationError,
     "more than 100000 candidates"),
    ("max_factor str", lambda: SplitSpace(16, max_factor="x"), InstantiationError, "max_factor must be an int"),
    ("negative extent", lambda: ConfigSpace().define_split("s", -16), InstantiationError,
     "cannot tune an axis of negative extent -16"),
    ("split candidate of 0", lambda: SplitSpace(16, policy="candidate", candidate=[[0, 16]]), InstantiationError,
     "each candidate must list 2 positive factors"),
    ("split candidates str", lambda: SplitSpace(16, policy="candidate", candidate="x"), InstantiationError,
     "needs candidate="),
    ("knob of an int", lambda: ConfigSpace().define_knob("k", 3), InstantiationError,
     "define_knob needs a list of candidate values"),
    ("knob name None", lambda: ConfigSpace().define_knob(None, [1]), InstantiationError,
     "a knob's name must be a string"),
    ("reorder candidate out of range", lambda: ConfigSpace().define_reorder("r", [0, 1], policy="candidate",
                                                                            candidate=[[5, 6]]),
     InstantiationError, "candidate order \\[5, 6\\] must list distinct positions"),
    ("annotate axes None", lambda: ConfigSpace().define_annotate("a", None, policy="try_unroll"),
     InstantiationError, "define_annotate a: axes must be a list"),
    ("add_flop str", lambda: ConfigSpace().add_flop("x"), InstantiationError, "add_flop expects a finite"),
    ("add_flop nan", lambda: ConfigSpace().add_flop(float("nan")), InstantiationError, "add_flop expects a finite"),
    ("constraint not callable", lambda: ConfigSpace().add_constraint(3), InstantiationError,
     "add_constraint expects a function"),
    ("constraint raises", lambda: _failing_constraint().instantiate(_failing_constraint().config_space.get(0)),
     InstantiationError, "constraint div raised ZeroDivisionError on config 0"),
    ("config index out of range", lambda: _split_task().config_space.get(10**9), IndexError,
     "config index 1000000000 out of range"),
    ("config index str", lambda: _split_task().config_space.get("x"), InstantiationError,
     "a config index must be an int"),
    ("template name None", lambda: autotune.template(None), TensorLangError, "needs a non-empty string name"),
    ("template of an int", lambda: autotune.template("bad_input/int")(3), TensorLangError, "decorates a function"),
    ("history of None", lambda: autotune.apply_history_best(None), TensorLangError,
     "apply_history_best expects the path of a tuning log"),
    ("history of junk pairs", lambda: autotune.apply_history_best([(1, 2)]), TensorLangError,
     "apply_history_best expects"),
    ("history bytes path", lambda: autotune.apply_history_best(b"/nonexistent/x.json"), TensorLangError,
     "no such tuning log"),
    ("ApplyConfig None", lambda: autotune.ApplyConfig(None), TensorLangError, "ApplyConfig expects a config"),
    ("tuner of None", lambda: RandomTuner(None), TensorLangError, "RandomTuner needs a task"),
    ("tune n_trial str", lambda: RandomTuner(_split_task()).tune(n_trial="x", measure_option=None),
     TensorLangError, "tune: n_trial must be a non-negative int"),
    ("log protocol", lambda: autotune.callback.log_to_file("/tmp/x.json", protocol="xml"), TensorLangError,
     "protocol 'xml' is not supported"),
    # autotune (already worked)
    ("unknown template", lambda: create("no/such/template", (16,)), TensorLangError,
     "no autotune template named 'no/such/template'"),
    ("missing log", lambda: autotune.apply_history_best("/nonexistent/x.json"), TensorLangError,
     "no such tuning log"),
    ("split policy", lambda: SplitSpace(16, policy="bogus"), InstantiationError, "unknown split policy 'bogus'"),
    ("get_config outside", lambda: autotune.get_config(), TensorLangError, "only valid inside"),
]


@pytest.mark.parametrize("fn, error, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_tensorlang_error(fn, error, fragment):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(error, match=fragment) as info:
            fn()
    assert isinstance(info.value, TensorLangError), f"{type(info.value).__name__} is not a TensorLangError"


def test_template_error_keeps_the_original_as_cause():
    with pytest.raises(TensorLangError) as info:
        _template_returning(KeyError("knob"), "bad_input/cause")
    assert isinstance(info.value.__cause__, KeyError)


def test_inlined_stage_as_argument_is_not_silent():
    # As in TVM it still builds (ported code passes such tensors), but its array is never written: say so.
    A, B, C, s = _chain()
    s[B].compute_inline()
    with pytest.warns(UserWarning, match=r"argument 1 \(B\): stage B is computed inline .* never written"):
        f = tl.build(s, [A, B, C])
    a = np.random.rand(8).astype("float32")
    b, c = np.zeros(8, "float32"), np.zeros(8, "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, (a + 1) * 2, rtol=1e-6)


def test_config_index_error_is_an_index_error_as_in_tvm():
    with pytest.raises(IndexError):
        _split_task().config_space.get(-1)


# --- borderline inputs that must keep working, with numpy's answer ------------------------
def _run(s, args, inputs, want):
    f = tl.build(s, args)
    outs = [np.zeros([int(d) for d in t.shape], str(t.dtype)) for t in args[len(inputs):]]
    f(*inputs, *outs)
    np.testing.assert_allclose(outs[-1], want, rtol=1e-5)


def _ok_auto_unroll_huge_limit():
    # A limit far beyond what can be unrolled used to unroll a 65536-statement nest (minutes).
    A = te.placeholder((256, 256), name="A")
    B = te.compute((256, 256), lambda i, j: A[i, j] + 1.0, name="B")
    s = te.create_schedule(B.op)
    s[B].pragma(B.op.axis[0], "auto_unroll_max_step", 10**9)
    a = np.random.rand(256, 256).astype("float32")
    _raises_quickly(lambda: _run(s, [A, B], [a], a + 1), seconds=15)


def _ok_float16_cast_overflow():
    # A float64 constant cast to float16 beyond its range is inf (it crashed the code generator).
    H = te.placeholder((4,), "float16", name="H")
    B = te.compute((4,), lambda i: H[i] + te.const(1e10, "float64").astype("float16"), name="B")
    _run(te.create_schedule(B.op), [H, B], [np.zeros(4, "float16")], np.full(4, np.inf, "float16"))


def _ok_placeholder_dtype_none():
    A = te.placeholder((4,), None, name="A")  # TVM's default: float32
    assert A.dtype == "float32"


def _ok_numpy_shape():
    A = te.placeholder(np.array([2, 3]), name="A")
    assert [int(d) for d in A.shape] == [2, 3]


def _ok_ramp_of_ints():
    assert tl.tir.Ramp(0, 1, 4).dtype == "int32x4"


def _ok_const_of_0d_array():
    assert te.const(np.array(2.5), "float32").value == 2.5


def _ok_split_larger_than_extent():
    A, B, C, s = _mm()
    s[C].split(C.op.axis[0], nparts=1000)
    s[C].split(C.op.axis[1], factor=1000)
    a, b = np.random.rand(8, 8).astype("float32"), np.random.rand(8, 8).astype("float32")
    _run(s, [A, B, C], [a, b], a @ b)


def _ok_compute_at_then_argument():
    A, B, C, s = _chain()
    xo, _ = s[C].split(C.op.axis[0], factor=4)
    s[B].compute_at(s[C], xo)
    a = np.random.rand(8).astype("float32")
    _run(s, [A, C], [a], (a + 1) * 2)


def _ok_large_split_space():
    assert len(SplitSpace(16, num_outputs=8).entities) == 330  # C(4 + 7, 7) ordered factorizations


OK_CASES = [_ok_auto_unroll_huge_limit, _ok_float16_cast_overflow, _ok_placeholder_dtype_none, _ok_numpy_shape,
            _ok_ramp_of_ints, _ok_const_of_0d_array, _ok_split_larger_than_extent, _ok_compute_at_then_argument,
            _ok_large_split_space]


@pytest.mark.parametrize("fn", OK_CASES, ids=[f.__name__[4:] for f in OK_CASES])
def test_borderline_input_keeps_working(fn):
    fn()


def test_module_arguments_in_the_target_layer_get_tensorlang_errors(tmp_path):
    import tensorlang as tl
    s = te.var("s", "float32")
    A = te.placeholder((4,), name="A")
    B = te.compute((4,), lambda i: A[i] * s, name="B")
    f = tl.build(te.create_schedule(B.op), [A, s, B])
    a, b = np.ones(4, "float32"), np.empty(4, "float32")
    cases = [(lambda: f.export_library(None), "export_library needs a file path"),
             (lambda: tl.runtime.load_module(None), "load_module expects the path of a file"),
             (lambda: tl.target.load_module(None), "load_module needs a file path"),
             (lambda: f.time_evaluator(f.entry_name, tl.cpu(), number="x"), "number must be an int"),
             (lambda: f(a, 10**400, b), "argument s: 1000.* does not fit in float32")]
    for fn, fragment in cases:
        with pytest.raises(TensorLangError, match=fragment):
            fn()
    assert f.get_function(f.entry_name) is f  # TVM's Module.get_function
    # TVM raises AttributeError for a missing function, dict-style code expects KeyError: it is both
    for exc in (AttributeError, KeyError, tl.FunctionNotFoundError):
        with pytest.raises(exc, match=r"^module has no function 'nope'; it holds 'default_function'$"):
            f["nope"]
    f(a, 2.5, b)
    np.testing.assert_array_equal(b, a * 2.5)
