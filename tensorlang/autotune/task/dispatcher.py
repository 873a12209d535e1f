"""TVM's module path ``autotvm.task.dispatcher``: the names of ``tensorlang.autotune.dispatcher``."""

from ..dispatcher import *  # noqa: F403 - this module only re-exports under TVM's path
from ..dispatcher import __all__  # noqa: F401
