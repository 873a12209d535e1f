"""TVM's dotted module paths as imports of tensorlang's: ``from tensorlang.autotvm.tuner import
XGBTuner``, ``from tensorlang.te.hybrid import script``, ``from tensorlang.tir.stmt_functor import
post_order_visit`` work as TVM's do once ``tvm`` is replaced by ``tensorlang`` in the imports.

tensorlang's packages are not laid out as TVM's, so an import finder answers the paths the
package lacks, child by child:

- a child its parent holds as an attribute that is a module (``tensorlang.autotvm`` is
  ``tensorlang.autotune``, ``te.hybrid`` is ``tensorlang.hybrid``) is that module;
- a child the parent's real module has as a submodule (``autotvm.tuner`` is
  ``autotune.tuner``) is that submodule;
- one of TVM's own module names (``measure_record``, ``xgboost_cost_model``, ``stmt_functor`` ...)
  is a view of its parent: its names are the parent's, where tensorlang exports them.

Anything else stays a ``ModuleNotFoundError``.  Nothing is imported until a user asks for it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any

# TVM module names that tensorlang keeps in their parent package (TVM 0.8-0.12 layout).
TVM_MODULE_NAMES = frozenset({
    # autotvm
    "measure_methods", "executor", "local_executor", "space", "dispatcher", "topi_integration", "record", "env",
    "tophub", "utils", "feature", "xgboost_cost_model", "xgboost_tuner", "ga_tuner", "index_based_tuner",
    "model_based_tuner", "sa_model_optimizer", "callback", "metric", "tuner", "measure", "task",
    # auto_scheduler
    "measure_record", "search_policy", "search_task", "compute_dag", "loop_state", "task_scheduler",
    "cost_model", "xgb_model", "workload_registry",
    # te / te.hybrid
    "runtime", "module", "parser", "calls", "preprocessor", "tensor", "operation", "tag", "tensor_intrin",
    "autodiff", "schedule",
    # tir / ir / runtime / target
    "stmt_functor", "ir_builder", "op", "expr", "stmt", "buffer", "function", "transform", "analysis",
    "generic", "data_layout", "instrument", "container", "ndarray", "packed_func", "object", "codegen", "target",
})


# Views whose TVM names tensorlang keeps in another module too: (package, child) -> modules
# searched after the package (TVM's autotvm.utils holds topi's get_const_int ...).
ALSO_IN = {
    ("tensorlang.autotune", "utils"): ("tensorlang.topi.utils",),
    # TVM's auto_scheduler.utils: its workload-key helpers and topi's get_const_tuple ...
    ("tensorlang.autoschedule", "utils"): ("tensorlang.autoschedule.workload_registry", "tensorlang.topi.utils"),
    ("tensorlang.autotune.tuner", "callback"): ("tensorlang.autotune.callback",),
}


class _View(types.ModuleType):
    """A TVM module path whose names tensorlang keeps in the parent (or in ``ALSO_IN``'s modules):
    it answers with theirs."""

    def __init__(self, name: str, base: types.ModuleType, also: tuple[str, ...] = ()):
        super().__init__(name, f"TVM's {name.split('.', 1)[1]}: the names of {base.__name__}")
        self.__dict__["_base"] = base
        self.__dict__["_also"] = also

    def _homes(self) -> list[Any]:
        return [self.__dict__["_base"], *(importlib.import_module(m) for m in self.__dict__["_also"])]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for home in self._homes():
            if hasattr(home, name):
                return getattr(home, name)
        raise AttributeError(f"module '{self.__name__}' (TVM's path for {self.__dict__['_base'].__name__}) "
                             f"has no attribute '{name}'")

    def __dir__(self) -> list[str]:
        return sorted({n for home in self._homes() for n in dir(home)})


class _Existing(importlib.abc.Loader):
    """Loads a TVM path as a module object found beforehand (an alias or a view), leaving an
    aliased module's own ``__spec__`` (its real name) in place."""

    def __init__(self, module: types.ModuleType):
        self.module = module
        self.own_spec = module.__dict__.get("__spec__")

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return self.module

    def exec_module(self, module: types.ModuleType) -> None:
        # the import system stamped the TVM path's spec on the module: give it its own back
        if self.own_spec is not None:
            module.__spec__ = self.own_spec


class TVMPathFinder(importlib.abc.MetaPathFinder):
    """Answers ``tensorlang.<TVM path>`` imports that tensorlang's own files do not hold.  It sits
    first, so a real submodule under an alias (``autotvm.tuner``) is imported once, by its real
    name, never a second time under the alias."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if not fullname.startswith("tensorlang.") or fullname in sys.modules:
            return None
        parent_name, _, child = fullname.rpartition(".")
        parent = sys.modules.get(parent_name)
        if parent is None:
            return None
        aliased = isinstance(parent, _View) or getattr(parent, "__name__", parent_name) != parent_name
        search = getattr(parent, "__path__", None)
        if not aliased and search is not None and \
                importlib.machinery.PathFinder.find_spec(fullname, search) is not None:
            return None  # a real module of tensorlang: Python's own finder loads it
        module = _resolve(parent, fullname)
        if module is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _Existing(module),
                                              is_package=hasattr(module, "__path__") or isinstance(module, _View))


def _resolve(parent: types.ModuleType, fullname: str) -> types.ModuleType | None:
    """The module a TVM path ``fullname`` under ``parent`` (already imported) stands for, if any."""
    child = fullname.rpartition(".")[2]
    base = parent.__dict__["_base"] if isinstance(parent, _View) else parent
    try:
        found = getattr(base, child)
    except Exception:  # noqa: BLE001 - a lazy attribute that fails to load is simply not this path
        found = None
    if isinstance(found, types.ModuleType):
        return found
    real = f"{base.__name__}.{child}"
    if real != fullname and getattr(base, "__path__", None) is not None:
        try:  # the aliased package's own submodule (autotvm.tuner -> autotune.tuner), by its real name
            return importlib.import_module(real)
        except ModuleNotFoundError as exc:
            if exc.name != real:
                raise
    if child in TVM_MODULE_NAMES and found is None:
        # never for a name the package already holds (a function): the import system would
        # then bind the view over it as the package's attribute
        return _View(fullname, base, ALSO_IN.get((base.__name__, child), ()))
    return None


def install() -> None:
    """Put the finder before Python's own, once."""
    if not any(isinstance(f, TVMPathFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, TVMPathFinder())


__all__ = ["TVMPathFinder", "TVM_MODULE_NAMES", "install"]
