"""TVM's ``tvm.transform``: the same objects as ``tvm.ir.transform`` (``tensorlang.ir.transform``,
TVM's canonical location): ``PassContext`` (options for the compilations made inside a
``with`` block: ``opt_level``, ``disabled_pass``, ``config``), ``Pass``, ``PassInfo``,
``ModulePass``/``module_pass``, ``Sequential`` and ``PrintIR``.

tensorlang honours ``config={"te.keep_schedule_record": True}`` (schedules created inside
record every primitive applied to them) and ``{"tir.add_lower_pass": [(phase, pass), ...]}``
(user passes run inside lowering, ``ir.user_passes``); other config keys are accepted for ported code and
have no effect, with a warning naming them.
"""

from __future__ import annotations

from .ir.transform import (
    KNOWN_CONFIG,
    ModulePass,
    Pass,
    PassContext,
    PassInfo,
    PrintIR,
    Sequential,
    module_pass,
    register_pass,
)

__all__ = ["KNOWN_CONFIG", "ModulePass", "Pass", "PassContext", "PassInfo", "PrintIR", "Sequential",
           "module_pass", "register_pass"]
