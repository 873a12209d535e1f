"""Per-kernel launch extents of a schedule, read from bound inference before any loop IR exists.

Guarantees: ``launch_extents`` groups the computed stages by the kernel they run in (a stage at
root with GPU-thread bindings starts one; a stage computed at another runs in that one's kernel)
and gives, per kernel, the largest constant extent bound to each threadIdx axis (and the stage
binding it) and the shared-memory bytes of each ``shared`` stage whose region is constant
(doubled when double-buffered).  Extents that are not constants are left out, so a device-limit
check on them rejects only what the generated kernel would certainly exceed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..arith import simplify
from ..schedule.bound import Bounds
from ..schedule.schedule import Schedule, Stage
from ..te.expr import IntImm


@dataclass
class KernelExtents:
    """What one kernel's block needs: threads along each axis and shared memory per stage."""

    root: str  # the stage at root whose loops make the kernel
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
    return [k for k in _kernels(sch, bounds).values() if k.threads or k.shared]


def kernel_of(stage: Stage, sch: Schedule, bounds: Bounds) -> KernelExtents:
    """The launch extents of the kernel ``stage`` runs in."""
    return _kernels(sch, bounds)[_root(stage)]


def _kernels(sch: Schedule, bounds: Bounds) -> dict[Stage, KernelExtents]:
    kernels: dict[Stage, KernelExtents] = {}
    # Stages at root first: of the stages binding the same extent, the kernel's own is named.
    for st in sorted(sch.stages, key=lambda st: st.attach_type == "scope"):
        if st.attach_type == "inline" or not any(iv in bounds.ranges for iv in st.leaf_iter_vars):
            continue
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
