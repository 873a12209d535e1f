"""TVM's module path ``autotvm.task.space``: the classes of ``tensorlang.autotune.space``."""

from ..space import *  # noqa: F403 - this module only re-exports under TVM's path
from ..space import __all__  # noqa: F401
