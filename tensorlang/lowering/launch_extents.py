"""Per-kernel launch extents of a schedule, read from bound inference before any loop IR exists.

Guarantees: ``launch_extents`` groups the computed stages by the kernel they run in (a stage at
root with GPU-thread bindings starts one; a stage computed at another runs in that one's kernel)
and gives, per kernel, the largest constant extent bound to each threadIdx axis (and the stage
binding it) and the shared-memory bytes of each ``shared`` stage whose region is constant
(doubled when double-buffered).  A hybrid script stage's loop nests are kernels of their own
(each outermost GPU-bound loop of the scheduled script starts one, as the CUDA code generator
cuts them), each with the threads its own loops bind.  Extents that are not constants are
left out, so a device-limit check on them rejects only what the generated kernel would
certainly exceed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..arith import simplify
from ..ir.stmt import For, ForKind
from ..schedule.bound import Bounds
from ..schedule.schedule import Schedule, Stage
from ..te.expr import IntImm
from ..te.extern import HybridOp
from ..te.functor import Visitor
from .script_loops import schedule_script_loops


@dataclass
class KernelExtents:
    """What one kernel's block needs: threads along each axis and shared memory per stage."""

    root: str  # the stage at root whose loops make the kernel
    nest: str = ""  # a hybrid script's kernel: the script loop that starts it
    threads: dict[str, tuple[int, str]] = field(default_factory=dict)  # threadIdx.* -> (extent, stage)
    shared: list[tuple[str, int]] = field(default_factory=list)  # (stage, bytes)

    @property
    def shared_bytes(self) -> int:
        return sum(n for _, n in self.shared)


def _root(st: Stage) -> Stage:
    for _ in range(64):  # attachment chains are short; cycles were reported by bound inference
        if st.attach_type != "scope" or st.attach_stage is None:
            break
        st = st.attach_stage
    return st


def launch_extents(sch: Schedule, bounds: Bounds) -> list[KernelExtents]:
    """The launch extents of every kernel of ``sch`` that binds GPU threads (module docstring)."""
    found = [k for k in _kernels(sch, bounds).values() if k.threads or k.shared]
    for st in sch.stages:
        if isinstance(st.op, HybridOp) and st.attach_type != "inline":
            found.extend(_script_kernels(st, bounds))
    return found


def kernel_of(stage: Stage, sch: Schedule, bounds: Bounds) -> KernelExtents:
    """The launch extents of the kernel ``stage`` runs in (a stage of ``te.compute``: nothing
    is computed inside a hybrid script's loops)."""
    return _kernels(sch, bounds)[_root(stage)]


def _script_kernels(st: Stage, bounds: Bounds) -> list[KernelExtents]:
    """The kernels of a hybrid script stage: its loop nests as its schedule makes them."""
    if not any(iv in bounds.thread_tag for iv in st.leaf_iter_vars):
        return []  # no GPU binding from the schedule; the script's own bind() is checked at build
    # The lowering schedules the script the same way (and raises the same errors) right after.
    stmt = schedule_script_loops(st, bounds, st.op.extern_body)
    walker = _ScriptKernels(st.op.name)
    walker.visit(stmt, None)
    return walker.kernels


class _ScriptKernels(Visitor):
    """Each outermost GPU-bound loop starts a kernel; the threadIdx loops inside it are its block."""

    def __init__(self, stage: str):
        super().__init__()
        self.stage = stage
        self.kernels: list[KernelExtents] = []

    def visit_For(self, node: For, kernel: KernelExtents | None) -> Any:
        if node.kind == ForKind.THREAD_BINDING:
            if kernel is None:
                kernel = KernelExtents(self.stage, nest=node.loop_var.name)
                self.kernels.append(kernel)
            ext = simplify(node.extent)
            tag = node.thread_tag
            if tag.startswith("threadIdx") and isinstance(ext, IntImm) and ext.value > kernel.threads.get(tag, (0,))[0]:
                kernel.threads[tag] = (ext.value, self.stage)
        self.generic_visit(node, kernel)


def _kernels(sch: Schedule, bounds: Bounds) -> dict[Stage, KernelExtents]:
    kernels: dict[Stage, KernelExtents] = {}
    # Stages at root first: of the stages binding the same extent, the kernel's own is named.
    for st in sorted(sch.stages, key=lambda st: st.attach_type == "scope"):
        if st.attach_type == "inline" or not any(iv in bounds.ranges for iv in st.leaf_iter_vars):
            continue
        if isinstance(st.op, HybridOp):
            continue  # its loop nests are kernels of their own (_script_kernels)
        root = _root(st)
        k = kernels.setdefault(root, KernelExtents(root.op.name))
        for iv in st.leaf_iter_vars:
            tag = bounds.thread_tag.get(iv, "")
            ext = bounds.ranges[iv].extent if iv in bounds.ranges else None
            if tag.startswith("threadIdx") and isinstance(ext, IntImm) and ext.value > k.threads.get(tag, (0, ""))[0]:
                k.threads[tag] = (ext.value, st.op.name)
        if st.storage_scope() == "shared" and st.attach_type == "scope":
            size = 1
            for ax in st.op.axis:
                ext = simplify(bounds.ranges[ax].extent)
                if not isinstance(ext, IntImm):
                    break
                size *= max(ext.value, 0)
            else:
                per_point = sum(st.op.output(i).dtype.bytes for i in range(st.op.num_outputs))
                nbytes = size * per_point * (2 if st.double_buffered else 1)
                k.shared.append((st.op.name, nbytes))
    return kernels
