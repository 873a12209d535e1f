"""``SearchTask.apply_best`` on a log whose fastest record no longer makes a schedule of the
task (a log of an older tensorlang whose sketch rules changed, or an edited line): the record is
skipped with a warning naming its log line, and the next best record is applied."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autoschedule
from tensorlang.autoschedule.search import SketchSearch
from tensorlang.autotune import record
from tensorlang.autotune.measure import MeasureErrorNo, MeasureInput, MeasureResult
from tensorlang.testing.auto_scheduler import matmul_auto_scheduler_test

N = 16


# An unknown plan (was an AttributeError), and a known plan that does not fit the computation
# (gcross fused into itself: was a KeyError from inside the sketch's application).
@pytest.mark.parametrize("sketch", ["C=nosuchplan", "C=gcross>C"])
def test_apply_best_skips_a_best_record_that_no_longer_instantiates(tmp_path, sketch) -> None:
    task = autoschedule.SearchTask(func=matmul_auto_scheduler_test, args=(N, N, N), target="llvm")
    configs = SketchSearch(task, seed=0).next_batch(3)
    assert len(configs) == 3
    lines = [record.encode(MeasureInput(task.target, task, cfg),
                           MeasureResult((1e-3 * (k + 1),), MeasureErrorNo.NO_ERROR, timestamp=1.0 + k))
             for k, cfg in enumerate(configs)]
    stale = json.loads(lines[0])
    stale["result"]["costs"] = [1e-6]  # the fastest, but its sketch is no sketch of this task
    stale["config"]["knobs"]["sketch"] = ["ot", sketch]
    log = tmp_path / "log.json"
    log.write_text("\n".join([lines[1], json.dumps(stale), lines[0], lines[2]]) + "\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s, args = task.apply_best(str(log))
    assert any(f"{log}:2:" in str(w.message) for w in caught), [str(w.message) for w in caught]
    f = tl.build(s, args, target="llvm")
    rng = np.random.default_rng()
    a = rng.standard_normal((N, N)).astype("float32")
    b = rng.standard_normal((N, N)).astype("float32")
    c = np.empty((N, N), "float32")
    f(a, b, c)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)
