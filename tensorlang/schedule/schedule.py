"""Schedules and stages: how each operation's loops are split, ordered, annotated and placed.

A ``Stage`` records directives and never changes the operation's meaning; the lowering in
``tensorlang.lowering`` turns the recorded directives into loops.  Primitives check their
arguments at once and raise ``ScheduleError`` naming the stage and axis at fault.
"""

from __future__ import annotations

import functools
import numbers
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ScheduleError
from ..ir.storage_scope import STORAGE_SCOPES
from ..te.expr import IntImm, PrimExpr, StringImm, Var, convert
from ..te.extern import ExternOp, HybridOp
from ..te.functor import free_vars
from ..te.scan import ScanOp
from ..te.tensor import ComputeOp, IterVar, IterVarType, Operation, PlaceholderOp, Tensor, integral
from ..te.tensor_intrin import TensorComputeOp, TensorIntrin
from ..transform import PassContext
from .relations import Fuse, Relation, Singleton, Split, extent_bound, loop_dtype
from .step_record import Step

_ANNOTATIONS = ("vectorize", "unroll", "parallel")
# What a hybrid script stage's own loops take (its op.axis are the script's loops).
_SCRIPT_PRIMITIVES = ("split", "fuse", "reorder", "vectorize", "unroll", "parallel", "bind", "pragma")
# Pragmas this compiler honours, and the TVM ones it accepts and ignores on the CPU.
KNOWN_PRAGMAS = ("unroll", "auto_unroll_max_step", "unroll_explicit", "max_registers", "nontemporal", "prefetch",
                 "pipeline_rows")
IGNORED_PRAGMAS = ("parallel_launch_point", "parallel_stride_pattern", "parallel_barrier_when_finish",
                   "debug_skip_region")


@dataclass
class IterVarAttr:
    """Annotations on one axis of a stage."""

    annotation: str | None = None          # "vectorize" | "unroll" | "parallel"
    bind_thread: IterVar | None = None     # the thread axis this loop is bound to
    pragmas: list[tuple[str, Any]] = field(default_factory=list)
    tensor_intrin: TensorIntrin | None = None  # set on the axis a stage is tensorized at

    @property
    def iter_type(self) -> int:
        """TVM's kind of the annotated loop (``te.schedule.IterVar.Unrolled`` ...)."""
        if self.tensor_intrin is not None:
            return IterVar.Tensorized
        if self.bind_thread is not None:
            return IterVar.ThreadIndex
        return {"unroll": IterVar.Unrolled, "vectorize": IterVar.Vectorized,
                "parallel": IterVar.Parallelized}.get(self.annotation or "", IterVar.DataPar)

    @property
    def pragma_keys(self) -> list[StringImm]:
        return [StringImm(k) for k, _ in self.pragmas]

    @property
    def pragma_values(self) -> list[Any]:
        return [v for _, v in self.pragmas]


def _recorded(fn: Any = None, *, in_record: bool = True) -> Any:
    """A primitive that every schedule keeps as a step (``Schedule.steps``, when it is not called
    from inside another primitive), and that a schedule made under ``PassContext(config=
    {"te.keep_schedule_record": True})`` records (its name and the loop order after it) unless
    ``in_record`` is False."""
    if fn is None:
        return functools.partial(_recorded, in_record=in_record)

    @functools.wraps(fn)
    def primitive(self: Any, *args: Any, **kwargs: Any) -> Any:
        stage = self if isinstance(self, Stage) else None
        sched = self.schedule if stage is not None else self
        op = stage.op if stage is not None else None
        sched._depth += 1
        try:
            out = fn(self, *args, **kwargs)
        finally:
            sched._depth -= 1
        if sched._depth == 0:
            sched.steps.append(Step(stage.origin_op if stage is not None else None, op, fn.__name__, args,
                                    tuple(kwargs.items()), out))
        if in_record:
            sched._record(fn.__name__)
        return out
    return primitive


class AttachType(str):
    """Where a stage is computed: "root", "inline" or "scope" (compute_at); it also compares
    equal to TVM's integer codes (1 group root, 2 inline, 4 scope)."""

    CODES = {"root": 1, "inline": 2, "scope": 4}

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int) and not isinstance(other, bool):
            return self.CODES.get(str(self)) == other
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__


ROOT, INLINE, SCOPE = AttachType("root"), AttachType("inline"), AttachType("scope")


class Stage:
    """The schedule of one operation (``s[T]``)."""

    def __init__(self, op: Operation, schedule: Schedule):
        self.op = op
        self.origin_op = op
        self.schedule = schedule
        self.relations: list[Relation] = []
        self.iter_var_attrs: dict[IterVar, IterVarAttr] = {}
        self.attach_type = ROOT  # root | inline | scope
        self.attach_stage: Stage | None = None
        self.group: StageGroup | None = None  # set by Schedule.create_group
        # dimension -> (factor, offset): its stride in this stage's storage is factor * k + offset
        self.storage_aligns: dict[int, tuple[int, int]] = {}
        self._prefetch_warned = False  # Stage.prefetch says once that it is not applied
        self.attach_ivar: IterVar | None = None
        self.scope = "global"
        self.scope_is_set = False  # set_scope (or cache_read/cache_write) chose it
        self.store_predicate: PrimExpr | None = None
        self.double_buffered = False
        self.is_output = False
        # (axis, intrinsic): the loops from that axis inward become the intrinsic's code
        self.tensorized: tuple[IterVar, TensorIntrin] | None = None
        self.layout_transforms: list[Any] = []  # transform_layout's index maps (index_map.LayoutMap), in order
        self._replaced_ops: list[Operation] = []  # the operations transform_layout replaced
        self._reset_axes()

    def _reset_axes(self) -> None:
        if isinstance(self.op, TensorComputeOp):  # the intrinsic spans the other axes
            roots = list(self.op.axis[:self.op.schedulable_ndim]) + list(self.op.reduce_axis)
        elif isinstance(self.op, ComputeOp):
            roots = list(self.op.axis) + list(self.op.reduce_axis)
        else:
            roots = []
        self.all_iter_vars: list[IterVar] = list(roots)
        self.leaf_iter_vars: list[IterVar] = list(roots)
        self.relations = []
        self.iter_var_attrs = {}

    @property
    def name(self) -> str:
        return self.op.name

    def __repr__(self) -> str:
        return f"Stage({self.op.name})"

    # -- checks -----------------------------------------------------------------------
    def _where(self) -> str:
        return f"stage {self.op.name}"

    def _check_leaf(self, iv: Any, primitive: str) -> IterVar:
        if not isinstance(iv, IterVar):
            raise ScheduleError(f"{self._where()}: {primitive} expects an axis (IterVar), got {iv!r}")
        if iv in self.leaf_iter_vars:
            return iv
        owner = self.schedule._owner_of(iv)
        if owner is not None and owner is not self:
            raise ScheduleError(f"{self._where()}: {primitive} was given axis {iv.name}, which belongs "
                                f"to stage {owner.op.name}")
        if iv in self.all_iter_vars:
            raise ScheduleError(f"{self._where()}: {primitive}: axis {iv.name} was already split or fused; "
                                "use the axes that split/fuse returned")
        if any(iv in getattr(op, "axis", ()) for op in self._replaced_ops):
            raise ScheduleError(f"{self._where()}: {primitive}: axis {iv.name} was replaced by transform_layout; "
                                "use the axes it returned")
        raise ScheduleError(f"{self._where()}: {primitive}: axis {iv.name} is not an axis of this stage")

    def _check_compute(self, primitive: str) -> None:
        if not isinstance(self.op, ComputeOp):
            raise ScheduleError(f"{self._where()}: {primitive} applies to computed stages, "
                                f"not to the placeholder {self.op.name}")
        if isinstance(self.op, HybridOp) and primitive in _SCRIPT_PRIMITIVES:
            return  # a hybrid script's loops (its op.axis) take these, as TVM's HybridOp's do
        if isinstance(self.op, ExternOp) and primitive != "compute_root":
            what = "a hybrid script stage" if isinstance(self.op, HybridOp) else "an extern stage (its outside " \
                "code has no loops to schedule)"
            raise ScheduleError(f"{self._where()}: {primitive} does not apply to {what}")

    # -- loop transformations ----------------------------------------------------------
    @_recorded
    def split(self, parent: IterVar, factor: Any = None, nparts: Any = None) -> tuple[IterVar, IterVar]:
        """Split ``parent`` into (outer, inner) with inner extent ``factor`` or outer extent
        ``nparts``; a factor that does not divide the extent leaves a guarded tail.

        ``for i in 0..n``  becomes  ``for i.outer in 0..ceil(n/f): for i.inner in 0..f:
        if i.outer*f + i.inner < n: ...``
        """
        self._check_compute("split")
        parent = self._check_leaf(parent, "split")
        if (factor is None) == (nparts is None):
            raise ScheduleError(f"{self._where()}: split of {parent.name} needs exactly one of factor= or nparts=")
        what = f"{self._where()}: split of {parent.name}: {'factor' if factor is not None else 'nparts'}"
        amount = _positive(factor if factor is not None else nparts, what)
        uses = free_vars(amount)
        loop_vars = {iv.var: iv for st in self.schedule.stages for iv in st.all_iter_vars} if uses else {}
        used = sorted(loop_vars[v].name for v in uses if v in loop_vars)
        if used:
            raise ScheduleError(f"{what} must not depend on loop variables, got {amount} (uses {', '.join(used)}); "
                                "use a constant or a te.var passed to build")
        dt = parent.var.dtype  # a wide (fused) axis splits into wide parts
        outer = IterVar(None, Var(f"{parent.name}.outer", dt), parent.iter_type)
        inner = IterVar(None, Var(f"{parent.name}.inner", dt), parent.iter_type)
        rel = Split(parent, outer, inner, amount if factor is not None else None,
                    amount if nparts is not None else None)
        self.relations.append(rel)
        self.all_iter_vars += [outer, inner]
        pos = self.leaf_iter_vars.index(parent)
        self.leaf_iter_vars[pos:pos + 1] = [outer, inner]
        return outer, inner

    @_recorded
    def fuse(self, *args: IterVar) -> IterVar:
        """Fuse consecutive axes (outermost first) into one axis; one axis is returned as is,
        and no axes give a new outermost loop of extent 1 (as in TVM)."""
        self._check_compute("fuse")
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        if not args:
            single = IterVar(None, Var("singleton"), IterVarType.DATA_PAR)
            self.relations.append(Singleton(single))
            self.all_iter_vars.append(single)
            self.leaf_iter_vars.insert(0, single)
            return single
        ivs = [self._check_leaf(a, "fuse") for a in args]
        if len(set(ivs)) != len(ivs):
            raise ScheduleError(f"{self._where()}: fuse was given the same axis twice")
        if len(ivs) == 1:
            return ivs[0]
        pos = sorted(self.leaf_iter_vars.index(iv) for iv in ivs)
        if pos != list(range(pos[0], pos[0] + len(pos))):
            names = ", ".join(iv.name for iv in ivs)
            raise ScheduleError(f"{self._where()}: can only fuse consecutive axes; {names} are not adjacent "
                                f"in the loop order {[iv.name for iv in self.leaf_iter_vars]}")
        ordered = [self.leaf_iter_vars[p] for p in pos]
        kinds = {iv.iter_type for iv in ordered}
        if len(kinds) > 1:
            raise ScheduleError(f"{self._where()}: cannot fuse a reduction axis with a data-parallel axis "
                                f"({', '.join(iv.name for iv in ordered)})")
        fused = ordered[0]
        bounds = self._extent_bounds()
        for nxt in ordered[1:]:
            bounds[nxt] = bound = bounds[fused] * bounds[nxt]
            new = IterVar(None, Var(f"{fused.name}.{nxt.name}.fused", loop_dtype(bound, fused, nxt)), fused.iter_type)
            bounds[new] = bound
            self.relations.append(Fuse(fused, nxt, new))
            self.all_iter_vars.append(new)
            fused = new
        self.leaf_iter_vars[pos[0]:pos[-1] + 1] = [fused]
        return fused

    def _extent_bounds(self) -> dict[IterVar, int]:
        """An upper bound of every axis's extent (a symbolic extent counts as its dtype's
        largest value): what decides whether a fused loop needs a 64-bit variable."""
        op = self.op
        bounds = {iv: extent_bound(iv.dom.extent) if iv.dom is not None else 2**31 - 1
                  for iv in list(getattr(op, "axis", ())) + list(getattr(op, "reduce_axis", ()))}
        for rel in self.relations:
            if isinstance(rel, Split):
                whole = bounds.get(rel.parent, 2**31 - 1)
                part = extent_bound(rel.factor if rel.factor is not None else rel.nparts)
                bounds[rel.outer] = whole
                bounds[rel.inner] = min(whole, part) if rel.factor is not None else whole
            elif isinstance(rel, Fuse):
                bounds[rel.fused] = bounds.get(rel.outer, 2**31 - 1) * bounds.get(rel.inner, 2**31 - 1)
            else:
                bounds[rel.iv] = 1
        return bounds

    @_recorded
    def reorder(self, *args: IterVar) -> Stage:
        """Put the given axes in this order, in the positions they occupy now."""
        self._check_compute("reorder")
        if len(args) == 1 and isinstance(args[0], (list, tuple)):
            args = tuple(args[0])
        ivs = [self._check_leaf(a, "reorder") for a in args]
        if len(set(ivs)) != len(ivs):
            dup = next(iv for iv in ivs if ivs.count(iv) > 1)
            raise ScheduleError(f"{self._where()}: reorder was given axis {dup.name} twice")
        pos = sorted(self.leaf_iter_vars.index(iv) for iv in ivs)
        before = list(self.leaf_iter_vars)
        for p, iv in zip(pos, ivs):
            self.leaf_iter_vars[p] = iv
        problem = self._range_order_problem()
        if problem:
            self.leaf_iter_vars[:] = before
            raise ScheduleError(f"{self._where()}: reorder would {problem}")
        return self

    def _range_order_problem(self) -> str | None:
        """Why the leaf order breaks a reduction whose range is read per output element (a
        sparse row's nonzeros: ``reduce_axis((0, indptr[row + 1] - indptr[row]))``): that loop
        must stay inside every loop of the axes its range uses; None when it does."""
        if not isinstance(self.op, ComputeOp) or not self.op.reduce_axis:
            return None
        roots: dict[IterVar, set[IterVar]] = {iv: {iv} for iv in (*self.op.axis, *self.op.reduce_axis)}
        for rel in self.relations:
            if isinstance(rel, Split):
                roots[rel.outer] = roots[rel.inner] = roots.get(rel.parent, set())
            elif isinstance(rel, Fuse):
                roots[rel.fused] = roots.get(rel.outer, set()) | roots.get(rel.inner, set())
        position = {iv: k for k, iv in enumerate(self.leaf_iter_vars)}
        for r, uses in reduction_range_axes(self.op).items():
            inner = [leaf for leaf in self.leaf_iter_vars if r in roots.get(leaf, ())]
            outer = [leaf for leaf in self.leaf_iter_vars if roots.get(leaf, set()) & uses]
            for a in inner:
                for b in outer:
                    if position[a] < position[b]:
                        return (f"put loop {a.name} outside loop {b.name}, but the range of reduction axis "
                                f"{r.name} ({r.dom.min}, {r.dom.extent}) depends on "
                                f"{', '.join(sorted(u.name for u in uses))}")
        return None

    @_recorded(in_record=False)  # TVM's record holds the splits and the reorder it makes
    def tile(self, x_parent: IterVar, y_parent: IterVar, x_factor: Any, y_factor: Any
             ) -> tuple[IterVar, IterVar, IterVar, IterVar]:
        """Split two axes and order them (x.outer, y.outer, x.inner, y.inner)."""
        saved = list(self.relations), list(self.all_iter_vars), list(self.leaf_iter_vars)
        try:
            xo, xi = self.split(x_parent, factor=x_factor)
            yo, yi = self.split(y_parent, factor=y_factor)
            self.reorder(xo, yo, xi, yi)
        except BaseException:
            # all or nothing: a bad y_factor must not leave x split (a tuner goes on with the stage)
            self.relations[:], self.all_iter_vars[:], self.leaf_iter_vars[:] = saved
            raise
        return xo, yo, xi, yi

    # -- annotations -------------------------------------------------------------------
    def _annotate(self, iv: IterVar, kind: str) -> None:
        self._check_compute(kind)
        iv = self._check_leaf(iv, kind)
        if kind in ("vectorize", "parallel") and iv.iter_type == IterVarType.COMM_REDUCE:
            why = "its iterations update the same element" if kind == "parallel" else (
                "its lanes would all update the same element; vectorize a data-parallel axis "
                "ordered inside it instead")
            raise ScheduleError(f"{self._where()}: cannot {kind} reduction axis {iv.name}: {why} "
                                "(use rfactor to parallelize a reduction)")
        attr = self.iter_var_attrs.setdefault(iv, IterVarAttr())
        if attr.bind_thread is not None:
            raise ScheduleError(f"{self._where()}: axis {iv.name} is bound to "
                                f"{attr.bind_thread.thread_tag}; it cannot also be {kind}d")
        attr.annotation = kind

    @_recorded
    def vectorize(self, iv: IterVar) -> Stage:
        """Run ``iv`` as vector lanes (its extent must be a constant after splitting)."""
        self._annotate(iv, "vectorize")
        return self

    @_recorded
    def unroll(self, iv: IterVar) -> Stage:
        """Unroll ``iv`` (fully, when its extent is a constant)."""
        self._annotate(iv, "unroll")
        return self

    @_recorded
    def parallel(self, iv: IterVar) -> Stage:
        """Run the iterations of ``iv`` on several threads."""
        self._annotate(iv, "parallel")
        return self

    @_recorded
    def bind(self, iv: IterVar, thread_ivar: IterVar) -> Stage:
        """Bind ``iv`` to a GPU thread index (``te.thread_axis("threadIdx.x")``); GPU targets only."""
        self._check_compute("bind")
        iv = self._check_leaf(iv, "bind")
        if not isinstance(thread_ivar, IterVar) or thread_ivar.iter_type != IterVarType.THREAD_INDEX:
            raise ScheduleError(f"{self._where()}: bind of {iv.name} expects a te.thread_axis, got {thread_ivar!r}")
        if iv.iter_type == IterVarType.COMM_REDUCE and not thread_ivar.thread_tag.startswith("threadIdx"):
            raise ScheduleError(f"{self._where()}: reduction axis {iv.name} can only be bound to threadIdx.x/y/z "
                                f"(a cross-thread reduction), not to {thread_ivar.thread_tag}: those threads cannot "
                                "combine their partial results (use rfactor to split the reduction)")
        tag = thread_ivar.thread_tag
        # A hybrid script's sibling loop nests are separate kernels and may bind one index (as in
        # TVM); lowering (script_loops) refuses a script loop bound inside one on the same index.
        siblings_allowed = isinstance(self.op, HybridOp)
        for other, other_attr in self.iter_var_attrs.items():
            if siblings_allowed:
                break
            bound = other_attr.bind_thread
            if other is iv or bound is None or other not in self.leaf_iter_vars:
                continue
            # Two axes of one stage on one thread index would run as one loop (a wrong answer); two
            # virtual threads (vx, vy of one "vthread" tag) are distinct axes, as in TVM.
            if bound is thread_ivar or (bound.thread_tag == tag and not tag.startswith("vthread")):
                raise ScheduleError(f"{self._where()}: axis {other.name} is already bound to {tag}; {iv.name} cannot "
                                    f"be bound to it too (fuse the two axes and bind the result, or use another "
                                    "thread index)")
        attr = self.iter_var_attrs.setdefault(iv, IterVarAttr())
        if attr.annotation is not None:
            raise ScheduleError(f"{self._where()}: axis {iv.name} is already {attr.annotation}d; it cannot be bound")
        attr.bind_thread = thread_ivar
        return self

    def env_threads(self, threads: Any) -> Stage:
        """TVM's launch of threads once around a whole scan is not supported: it is refused by
        name rather than ignored, since the schedule would run differently from what was asked."""
        raise ScheduleError(f"{self._where()}: env_threads is not supported; bind the scan's init and update "
                            "stages' axes to the thread axes instead (s[update].bind(xi, thread_x)): the scan's "
                            "time loop then launches one kernel per step, with the same results")

    @_recorded
    def set_store_predicate(self, predicate: PrimExpr) -> Stage:
        """Only the threads (iterations) where ``predicate`` holds write this stage's output,
        e.g. ``thread_x.var.equal(0)`` after a cross-thread reduction, whose result every
        thread of the reduction holds."""
        self._check_compute("set_store_predicate")
        if not isinstance(predicate, PrimExpr) or not predicate.dtype.is_bool:
            raise ScheduleError(f"{self._where()}: set_store_predicate expects a boolean expression, got "
                                f"{predicate!r}")
        self.store_predicate = predicate
        return self

    @_recorded
    def pragma(self, iv: IterVar, pragma_type: str, pragma_value: Any = None) -> Stage:
        """Attach a hint to a loop: ``unroll``, ``auto_unroll_max_step`` (value: max steps),
        ``nontemporal`` (CPU: write the vector stores of this loop nest with aligned streaming
        stores that bypass the cache; a false value forbids the automatic choice; see
        ``tensorlang.ir.passes.streaming_stores``), ``prefetch`` (CPU: each contiguous vector
        load of an argument buffer in this loop nest also prefetches the element ``value``
        further on, so data the next rows need arrives while this one computes),
        ``pipeline_rows`` (CPU: each row's last pass runs one row later, fused with the next
        row's prefetching loop; see ``tensorlang.ir.passes.pipeline_rows``) ..."""
        self._check_compute("pragma")
        iv = self._check_leaf(iv, "pragma")
        if not isinstance(pragma_type, str):
            raise ScheduleError(f"{self._where()}: pragma on axis {iv.name}: the pragma type must be a string such as "
                                f"'unroll', got {pragma_type!r}")
        if pragma_type == "vectorize" and pragma_value is None:
            # As in TVM, this pragma is the annotation of the same name.
            self._annotate(iv, pragma_type)
            return self
        if pragma_type not in KNOWN_PRAGMAS + IGNORED_PRAGMAS:
            # TVM passes unknown pragmas through to the code generators; none here reads them.
            warnings.warn(f"{self._where()}: pragma '{pragma_type}' on axis {iv.name} has no effect in tensorlang "
                          f"(known: {', '.join(KNOWN_PRAGMAS + IGNORED_PRAGMAS)})", stacklevel=2)
        if pragma_type == "auto_unroll_max_step":
            _positive(pragma_value, f"{self._where()}: pragma auto_unroll_max_step on {iv.name}", allow_zero=True)
        if pragma_type == "prefetch":
            _positive(pragma_value, f"{self._where()}: pragma prefetch on {iv.name}", allow_zero=True)
        if pragma_type == "max_registers":  # a GPU kernel's register budget per thread (0: no limit)
            _positive(pragma_value, f"{self._where()}: pragma max_registers on {iv.name}", allow_zero=True)
        self.iter_var_attrs.setdefault(iv, IterVarAttr()).pragmas.append(
            (pragma_type, pragma_value if not isinstance(pragma_value, IntImm) else pragma_value.value))
        return self

    @_recorded
    def tensorize(self, var: IterVar, tensor_intrin: TensorIntrin) -> Stage:
        """Replace the loops from ``var`` inward with the code of ``tensor_intrin``
        (``te.decl_tensor_intrin``); lowering checks that those loops compute what the
        intrinsic declares and binds its buffers to the regions they touch."""
        self._check_compute("tensorize")
        var = self._check_leaf(var, "tensorize")
        if not isinstance(tensor_intrin, TensorIntrin):
            raise ScheduleError(f"{self._where()}: tensorize of {var.name} expects a tensor intrinsic "
                                f"(te.decl_tensor_intrin), got {tensor_intrin!r}")
        if isinstance(self.op, ScanOp) or self.op.num_outputs != 1:
            raise ScheduleError(f"{self._where()}: tensorize applies to a te.compute with one output")
        if isinstance(self.op, TensorComputeOp):
            # As in TVM: its loops already run an intrinsic, so there is nothing to replace.
            warnings.warn(f"{self._where()}: tensorize has no effect on a stage computed by a tensor intrinsic",
                          stacklevel=2)
            return self
        self.tensorized = (var, tensor_intrin)
        self.iter_var_attrs.setdefault(var, IterVarAttr()).tensor_intrin = tensor_intrin
        return self

    @_recorded
    def transform_layout(self, mapping_function: Callable[..., Any]) -> list[IterVar] | None:
        """Store this stage's tensor in the layout ``mapping_function`` gives (TVM 0.12): it
        takes the logical indices and returns the stored ones, e.g. ``lambda i: [i // 4, i % 4]``
        or ``lambda i, j: [j, i]``, and must map the tensor's elements one-to-one onto a dense
        box (+, * by a constant, // and % by a constant; no padding).  Readers read through the
        map; a placeholder or output transformed this way is an argument in the new layout.
        For a computed stage the loops then run over the new layout in row-major order, and the
        new axes are returned (to split, reorder, bind ... like any axis); for a placeholder,
        None.  ``te.AXIS_SEPARATOR`` (2-D physical buffers) is refused."""
        from .layout_transform import transform_layout  # it imports this module
        return transform_layout(self.schedule, self, mapping_function)

    # -- placement --------------------------------------------------------------------
    @_recorded
    def compute_at(self, parent: Stage, scope: IterVar) -> Stage:
        """Compute this stage inside loop ``scope`` of stage ``parent``, just for the region
        that one iteration of that loop reads."""
        self._check_compute("compute_at")
        if not isinstance(parent, Stage):
            raise ScheduleError(f"{self._where()}: compute_at expects a stage (s[T]), got {parent!r}")
        if parent is self:
            raise ScheduleError(f"{self._where()}: cannot compute a stage at itself")
        if not isinstance(scope, IterVar) or scope not in parent.all_iter_vars:
            name = scope.name if isinstance(scope, IterVar) else repr(scope)
            raise ScheduleError(f"{self._where()}: compute_at: axis {name} is not an axis of stage {parent.op.name}")
        if isinstance(parent.op, ExternOp):  # its outside code (a hybrid script's loops) holds no other stage
            what = "a hybrid script stage (its loops run the script only)" if isinstance(parent.op, HybridOp) \
                else "an extern stage"
            raise ScheduleError(f"{self._where()}: compute_at: cannot compute it inside loop {scope.name} of "
                                f"{parent.op.name}, {what}; compute it at root, before that stage")
        if self.group is not None and not self._group_admits(parent):
            raise ScheduleError(f"{self._where()}: compute_at: stage {parent.op.name} is outside this stage's group "
                                f"{self.group!r}; a grouped stage (a scan's body, or one of create_group) can only "
                                f"be computed at a stage of its group or where its group is placed")
        self.attach_type, self.attach_stage, self.attach_ivar = SCOPE, parent, scope
        return self

    def _group_admits(self, parent: Stage) -> bool:
        """TVM's group rule for compute_at: ``parent`` lies inside this stage's group (through
        its own group chain).  tensorlang also admits the place a group (or an enclosing one)
        is attached at, which is where ``StageGroup.compute_at`` puts each member."""
        pg = parent.group
        while pg is not None:
            if pg is self.group:
                return True
            pg = pg.group
        g = self.group
        while g is not None:
            if g.attach_stage is parent:
                return True
            g = g.group
        return False

    @_recorded
    def compute_inline(self) -> Stage:
        """Substitute this stage's expression into its consumers (no storage, no loops)."""
        self._check_compute("compute_inline")
        if self.op.reduce_axis:
            raise ScheduleError(f"{self._where()}: cannot inline a reduction; use compute_at instead")
        if isinstance(self.op, TensorComputeOp):
            raise ScheduleError(f"{self._where()}: cannot inline a stage computed by a tensor intrinsic")
        if self.is_output:
            raise ScheduleError(f"{self._where()}: cannot inline an output of the schedule")
        self.attach_type, self.attach_stage, self.attach_ivar = INLINE, None, None
        return self

    @_recorded
    def compute_root(self) -> Stage:
        """Compute this stage in full at the top level (the default)."""
        self._check_compute("compute_root")
        self.attach_type, self.attach_stage, self.attach_ivar = ROOT, None, None
        return self

    @_recorded
    def prefetch(self, tensor: Tensor, var: IterVar, offset: Any) -> Stage:
        """TVM's hint to prefetch ``tensor`` ``offset`` iterations of ``var`` ahead.  It never
        changes a result; tensorlang checks it and does not apply it (its own hint is
        ``pragma(var, "prefetch", elements)``), and says so once per stage."""
        self._check_compute("prefetch")
        iv = self._check_leaf(var, "prefetch")
        if not isinstance(tensor, Tensor) or all(t != tensor for t in self.op.input_tensors):
            raise ScheduleError(f"{self._where()}: prefetch needs a tensor that {self.op.name} reads "
                                f"({[t.name for t in self.op.input_tensors]}), got {getattr(tensor, 'name', tensor)!r}")
        _positive(offset, f"{self._where()}: prefetch offset on {iv.name}", allow_zero=True)
        if not self._prefetch_warned:
            self._prefetch_warned = True
            warnings.warn(f"{self._where()}: Stage.prefetch({tensor.name}, {iv.name}, {offset}) is a hint tensorlang "
                          "does not apply; results are unchanged (pragma(var, 'prefetch', elements) is its own "
                          "prefetch hint)", stacklevel=3)
        return self

    @_recorded
    def storage_align(self, axis: IterVar, factor: int, offset: int) -> Stage:
        """Pad this stage's storage so that the stride of ``axis`` (a root axis of its op) is
        ``factor * k + offset``; GPUs use it to keep shared-memory rows off the same banks."""
        self._check_compute("storage_align")
        if axis not in self.op.axis:
            raise ScheduleError(f"{self._where()}: storage_align needs an axis of {self.op.name}'s op "
                                f"({[iv.name for iv in self.op.axis]}), got {getattr(axis, 'name', axis)!r}")
        factor = _integer(factor, f"{self._where()}: storage_align factor")
        offset = _integer(offset, f"{self._where()}: storage_align offset")
        # offset may exceed factor, as in TVM (only offset % factor counts): TVM's tensor-core
        # schedules pad a row of n elements to exactly n + pad with storage_align(n + pad - 1, n + pad).
        if factor < 1 or offset < 0:
            raise ScheduleError(f"{self._where()}: storage_align wants factor >= 1 and offset >= 0, "
                                f"got factor={factor}, offset={offset}")
        dim = list(self.op.axis).index(axis)
        aligns = {**self.storage_aligns, dim: (factor, offset)}
        self._check_padded_size(aligns, factor)
        self.storage_aligns = aligns
        return self

    def _check_padded_size(self, aligns: dict[int, tuple[int, int]], factor: int) -> None:
        """Padding must not push the storage of a tensor indexed with 32-bit integers past 2**31 - 1
        elements: its offsets would wrap around (a wrong answer, not an error)."""
        extents = [iv.dom.extent for iv in self.op.axis]
        if not all(isinstance(e, IntImm) for e in extents):
            return
        sizes = [e.value for e in extents]
        stride, unpadded = 1, 1
        for d in range(len(sizes) - 1, -1, -1):
            if d < len(sizes) - 1 and d in aligns:  # as storage flattening pads: not the innermost dimension
                f, o = aligns[d]
                stride += (f + o - stride % f) % f
            stride *= sizes[d]
            unpadded *= sizes[d]
        if unpadded < 2**31 <= stride:
            raise ScheduleError(f"{self._where()}: storage_align with factor {factor} pads {self.op.name}'s storage to "
                                f"{stride} elements, past the 2**31 - 1 that its 32-bit indexing reaches; use a "
                                "smaller factor (padding rows by a few elements is what it is for)")

    @_recorded
    def set_scope(self, scope: str) -> Stage:
        """Storage scope of this stage's buffer: global, shared, local, warp or a tensor-core
        fragment (wmma.matrix_a, wmma.matrix_b, wmma.accumulator)."""
        if scope not in STORAGE_SCOPES:
            raise ScheduleError(f"{self._where()}: unknown storage scope '{scope}' "
                                f"(known: {', '.join(STORAGE_SCOPES)})")
        self.scope = scope
        self.scope_is_set = True
        return self

    @_recorded
    def double_buffer(self) -> Stage:
        """Keep two copies of this (shared) stage's buffer, so that the fetch for the next
        iteration of the loop it is computed in overlaps the work on the current one (with
        cp.async on sm_80 and later); one barrier per iteration instead of two."""
        self._check_compute("double_buffer")
        self.double_buffered = True
        return self

    def storage_scope(self) -> str:
        """The scope of this stage's buffer: the one set (set_scope, cache_read/cache_write),
        else inferred from where the stage is attached: inside a loop bound to threadIdx it is
        ``local`` (each thread computes its own copy), inside one bound to blockIdx ``shared``
        (one copy per block), else ``global``."""
        if self.scope_is_set or self.attach_type != "scope":
            return self.scope
        tags: set[str] = set()
        st: Stage = self
        for _ in range(64):  # attachment chains are short; a cycle is reported by bound inference
            if st.attach_type != "scope" or st.attach_stage is None or st.attach_ivar is None:
                break
            parent, iv = st.attach_stage, st.attach_ivar
            leaves = parent.leaf_iter_vars
            for x in leaves[: leaves.index(iv) + 1] if iv in leaves else ():
                attr = parent.iter_var_attrs.get(x)
                if attr is not None and attr.bind_thread is not None:
                    tags.add(attr.bind_thread.thread_tag)
            st = parent
        if any(t.startswith("threadIdx") for t in tags):
            return "local"
        if any(t.startswith("blockIdx") for t in tags):
            return "shared"
        return self.scope


def reduction_range_axes(op: ComputeOp) -> dict[IterVar, set[IterVar]]:
    """The reduction axes of ``op`` whose range depends on its output axes (a sparse row's
    nonzeros, a triangular sum), each with the output axes it depends on: those loops must
    stay outside the reduction's."""
    by_var = {iv.var: iv for iv in op.axis}
    out: dict[IterVar, set[IterVar]] = {}
    for r in op.reduce_axis:
        uses = {by_var[v] for v in (*free_vars(r.dom.min), *free_vars(r.dom.extent)) if v in by_var}
        if uses:
            out[r] = uses
    return out


def _integer(value: Any, where: str) -> int:
    """A constant integer argument (a Python or numpy int, an IntImm, a float holding a whole
    number); anything else is a ScheduleError naming ``where``."""
    value = integral(value, where)
    if isinstance(value, IntImm):
        value = value.value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ScheduleError(f"{where} must be an integer, got {value!r}")
    return int(value)


def _positive(value: Any, where: str, allow_zero: bool = False) -> PrimExpr:
    value = integral(value, where)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 2**31:
        raise ScheduleError(f"{where} must be a positive integer below 2**31, got {value}")
    try:
        e = convert(value)
    except Exception as exc:  # noqa: BLE001 - report any unconvertible value the same way
        raise ScheduleError(f"{where} must be a positive integer, got {value!r}") from exc
    if not (e.dtype.is_int and e.dtype.lanes == 1):
        raise ScheduleError(f"{where} must be a positive integer, got {value!r}")
    if isinstance(e, IntImm) and (e.value < 0 or (e.value == 0 and not allow_zero)):
        raise ScheduleError(f"{where} must be a positive integer, got {e.value}")
    return e


class StageMap(dict):
    """Stages by ``id(op)`` (operations are not hashable by value); as TVM's ``stage_map`` it can
    also be indexed by the operation or its tensor: ``s.stage_map[C.op]``."""

    @staticmethod
    def _key(key: Any) -> Any:
        if isinstance(key, int):
            return key
        return id(key.op if isinstance(key, Tensor) else key)

    def __getitem__(self, key: Any) -> Stage:
        try:
            return super().__getitem__(self._key(key))
        except KeyError:
            raise ScheduleError(f"{getattr(key, 'name', key)} has no stage in this schedule") from None

    def __contains__(self, key: object) -> bool:
        return super().__contains__(self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)


class Schedule:
    """The stages of a computation, producers before consumers; index it with ``s[T]``."""

    def __init__(self, outputs: Sequence[Operation]):
        self.outputs = list(outputs)
        self.stages: list[Stage] = []
        self.stage_map = StageMap()
        self.groups: list[StageGroup] = []  # create_group's groups and each scan's body
        self._alive: list[Operation] = []
        for op in _post_order(self.outputs):
            st = Stage(op, self)
            self.stages.append(st)
            self.stage_map[id(op)] = st
        for op in self.outputs:
            self.stage_map[id(op)].is_output = True
        # TVM's schedule record: the primitives applied (and each stage's loops after each), kept
        # only when the PassContext asks for it.
        self.schedule_record: list[dict[str, list[str]]] = []
        self.primitive_record: list[str] = []
        self._keep_record = bool(PassContext.current().config.get("te.keep_schedule_record", False))
        self._record("vanilla")
        self.steps: list[Step] = []   # every primitive applied from outside, in order (step_record)
        self._depth = 0

    def _record(self, primitive: str) -> None:
        if self._keep_record:
            self.schedule_record.append({st.op.name: [iv.name for iv in st.leaf_iter_vars] for st in self.stages})
            self.primitive_record.append(primitive)

    def __getitem__(self, key: Tensor | Operation) -> Stage:
        op = key.op if isinstance(key, Tensor) else key
        st = self.stage_map.get(id(op))
        if st is None:
            name = getattr(op, "name", repr(op))
            raise ScheduleError(f"{name} is not part of this schedule (it is not computed by, "
                                "or an input of, the outputs given to create_schedule)")
        return st

    def _owner_of(self, iv: IterVar) -> Stage | None:
        for st in self.stages:
            if iv in st.all_iter_vars:
                return st
        return None

    def stage_of(self, tensor: Tensor) -> Stage:
        return self[tensor]

    def current_tensor(self, tensor: Tensor) -> Tensor:
        """The tensor that now computes ``tensor`` (cache_read/cache_write replace ops)."""
        return self[tensor].op.output(tensor.value_index)

    @_recorded
    def cache_read(self, tensor: Tensor, scope: str, readers: Any) -> Tensor:
        """Copy ``tensor`` into a new stage in ``scope`` and make ``readers`` read the copy."""
        from .dataflow import cache_read  # dataflow imports this module
        return cache_read(self, tensor, scope, readers)

    @_recorded
    def cache_write(self, tensor: Tensor | Sequence[Tensor], scope: str) -> Tensor:
        """Compute ``tensor`` into a new stage in ``scope``; the original stage copies it out."""
        from .dataflow import cache_write  # dataflow imports this module
        return cache_write(self, tensor, scope)

    @_recorded
    def rfactor(self, tensor: Tensor, axis: IterVar, factor_axis: int = 0) -> Tensor:
        """Turn reduction axis ``axis`` into a data-parallel axis of a new stage of partial
        results; the original stage then reduces over those partial results."""
        from .dataflow import rfactor  # dataflow imports this module
        return rfactor(self, tensor, axis, factor_axis)

    def create_group(self, outputs: Any, inputs: Any, include_inputs: bool = False) -> StageGroup:
        """The stages computing ``outputs`` from ``inputs`` (the inputs' stages too when
        ``include_inputs``), to place together: ``g.compute_at(s[C], axis)``."""
        def tensors(value: Any, what: str) -> list[Tensor | Operation]:
            items = [value] if isinstance(value, (Tensor, Operation)) else (
                list(value) if isinstance(value, (list, tuple)) else [value])
            for t in items:
                if not isinstance(t, (Tensor, Operation)):
                    raise ScheduleError(f"create_group: {what} must be tensors (or a list of them), got {t!r}")
            return items
        outs, ins = tensors(outputs, "outputs"), tensors(inputs, "inputs")
        out_ops = [t.op if isinstance(t, Tensor) else t for t in outs]
        in_ops = {id(t.op if isinstance(t, Tensor) else t) for t in ins}
        members: list[Stage] = []
        seen: set[int] = set()
        stack = list(out_ops)
        while stack:
            op = stack.pop()
            if id(op) in seen:
                continue
            seen.add(id(op))
            if id(op) in in_ops:
                if include_inputs and isinstance(op, ComputeOp):
                    members.append(self[op])
                continue
            if isinstance(op, ComputeOp):
                members.append(self[op])
                stack.extend(t.op for t in op.input_tensors)
        members.sort(key=self.stages.index)
        group = StageGroup(members)
        self.groups.append(group)
        # members that all sat in one enclosing group (a scan's body) keep it as the new group's parent
        enclosing = {id(st.group): st.group for st in members}
        if len(enclosing) == 1:
            (outer,) = enclosing.values()
            if outer is not None and not all(m in members for m in outer.stages):
                group.group = outer
        for st in members:
            inner = st.group
            if inner is not None and inner.group is None and all(m in members for m in inner.stages):
                inner.group = group  # a group inside the new one stays the stage's group (nesting)
            elif inner is None or inner.group is not group:
                st.group = group
        return group

    def legalize_attachments(self) -> None:
        """Move each compute_at whose target axis was split or fused afterwards to the loop that
        replaced it (a split's inner loop, a fuse's fused loop), as TVM does."""
        for st in self.stages:
            if st.attach_type != "scope" or st.attach_stage is None:
                continue
            parent, iv = st.attach_stage, st.attach_ivar
            moved = True
            while iv not in parent.leaf_iter_vars and moved:
                moved = False
                for rel in parent.relations:
                    if isinstance(rel, Split) and rel.parent is iv:
                        iv, moved = rel.inner, True
                        break
                    if isinstance(rel, Fuse) and iv in (rel.outer, rel.inner):
                        iv, moved = rel.fused, True
                        break
            st.attach_ivar = iv

    def normalize(self) -> Schedule:
        """Kept for TVM compatibility: loops are already normalized to start at 0."""
        return self


class StageGroup:
    """Stages placed together (``Schedule.create_group``): placement primitives apply to each."""

    def __init__(self, stages: Sequence[Stage]):
        self.stages = list(stages)
        self.group: StageGroup | None = None  # the group this one is nested in
        # where the group is placed (TVM's attach fields): set by compute_at, or the scan
        # stage for a scan's body
        self.attach_type = ROOT
        self.attach_stage: Stage | None = None
        self.attach_ivar: IterVar | None = None

    @property
    def num_child_stages(self) -> int:
        return len(self.stages)

    def compute_at(self, parent: Stage, scope: IterVar) -> StageGroup:
        """Compute the group inside loop ``scope`` of ``parent``: every member not already
        placed inside another member (a nested group keeps its place)."""
        if not isinstance(parent, Stage):
            raise ScheduleError(f"group {self!r}: compute_at expects a stage (s[T]), got {parent!r}")
        previous = self.attach_type, self.attach_stage, self.attach_ivar
        self.attach_type, self.attach_stage, self.attach_ivar = SCOPE, parent, scope
        try:
            for st in self.stages:
                if st.attach_type == "scope" and st.attach_stage in self.stages:
                    continue
                st.compute_at(parent, scope)
        except BaseException:
            self.attach_type, self.attach_stage, self.attach_ivar = previous
            raise
        return self

    def compute_inline(self) -> StageGroup:
        for st in self.stages:
            st.compute_inline()
        self.attach_type, self.attach_stage, self.attach_ivar = INLINE, None, None
        return self

    def compute_root(self) -> StageGroup:
        for st in self.stages:
            st.compute_root()
        self.attach_type, self.attach_stage, self.attach_ivar = ROOT, None, None
        return self

    def set_scope(self, scope: str) -> StageGroup:
        for st in self.stages:
            st.set_scope(scope)
        return self

    def __repr__(self) -> str:
        return f"StageGroup({', '.join(st.op.name for st in self.stages)})"


def _post_order(outputs: Iterable[Operation],
                inputs: Callable[[Operation], Sequence[Tensor]] | None = None) -> list[Operation]:
    """The operations ``outputs`` depend on, each after every operation it reads; ``inputs``
    gives the tensors an operation reads (its ``input_tensors`` by default)."""
    inputs = inputs or (lambda op: op.input_tensors)
    order: list[Operation] = []
    seen: set[int] = set()

    def visit(op: Operation) -> None:
        stack = [(op, False)]
        while stack:
            node, done = stack.pop()
            if done:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
                continue
            if id(node) in seen:
                continue
            stack.append((node, True))
            for t in reversed(list(inputs(node))):
                if id(t.op) not in seen:
                    stack.append((t.op, False))
    for op in outputs:
        visit(op)
    return order


def create_schedule(ops: Operation | Tensor | Sequence[Operation | Tensor]) -> Schedule:
    """A default schedule (every stage computed at root, in order) for the given outputs."""
    if not isinstance(ops, (list, tuple)):
        ops = [ops]
    out = []
    for o in ops:
        if isinstance(o, Tensor):
            o = o.op
        if not isinstance(o, Operation):
            raise ScheduleError(f"create_schedule expects operations (C.op) or tensors, got {o!r}")
        if isinstance(o, PlaceholderOp):
            raise ScheduleError(f"create_schedule: {o.name} is a placeholder; pass the computed output's op")
        out.append(o)
    sch = Schedule(out)
    for st in list(sch.stages):
        if isinstance(st.op, ScanOp):
            _attach_scan_body(sch, st)
    return sch


def _attach_scan_body(sch: Schedule, scan_stage: Stage) -> None:
    """Compute every stage between a scan's state (or one of its declared ``inputs``) and its
    update inside the scan's time loop, as TVM's scan body is: a stage that reads only an input
    such as ``X[t - 1]`` is per-step work and would read out of bounds over the whole axis."""
    op = scan_stage.op
    inside = {id(o) for o in op.body_ops()}
    body = [st for st in sch.stages if id(st.op) in inside]
    for st in body:
        st.compute_at(scan_stage, op.scan_axis)
    # the body is a group attached at the scan (TVM's scan group): body stages can be placed
    # at each other, and compute_at outside the body is refused when it is asked
    group = StageGroup(body)
    group.attach_type, group.attach_stage, group.attach_ivar = SCOPE, scan_stage, op.scan_axis
    for st in body:
        if st.group is None:
            st.group = group
    sch.groups.append(group)
