"""Features extracted in forked children are the ones the search would extract itself."""

import random

import numpy as np

from tensorlang.autoschedule import SearchTask, feature_workers, prior
from tensorlang.autoschedule.cost_model import features
from tensorlang.autoschedule.records import from_config, to_config
from tensorlang.autoschedule.search import SketchSearch
from tensorlang.autotune.measure import executor
from tensorlang.autotune.measure.executor import Outcome
from tests.autoschedule.workloads import matmul


def _candidates(task, n, seed):
    rng = random.Random(seed)
    return [to_config(sk, prior.random_decisions(task.slots(sk), rng)) for sk in task.sketches for _ in range(n)]


def _same(a, b):
    return len(a) == len(b) and all((x is None and y is None) or (x is not None and y is not None and
                                                                  np.array_equal(x, y)) for x, y in zip(a, b))


def test_children_extract_what_this_process_does_and_a_failed_child_costs_nothing(monkeypatch):
    task = SearchTask(matmul, args=(48, 40, 56), target="llvm")
    configs = _candidates(task, 3, random.randrange(1 << 30))
    here = [features(task, c) for c in configs]
    assert any(v is not None for v in here)
    assert _same(feature_workers.extract(task, configs, 2), here)
    assert _same(feature_workers.extract(task, configs[:3], 8), here[:3])  # more workers than configs

    # A child that dies (or times out) has its share extracted here instead.
    def dying(fn, jobs, n_parallel=1, timeout=10.0):
        return [Outcome("crash", message="the child process died with SIGSEGV") for _ in jobs]

    monkeypatch.setattr(executor, "run_isolated", dying)
    assert _same(feature_workers.extract(task, configs, 2), here)

    # Where processes cannot fork (FeatureCache checked this itself before map_in_children), no
    # child is started at all.
    def no_child(*args, **kwargs):
        raise AssertionError("a child was started")

    monkeypatch.setattr(executor, "run_isolated", no_child)
    monkeypatch.setattr(executor.multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert _same(feature_workers.extract(task, configs, 2), here)


class _NoModel:
    trained = base = False


def test_a_search_with_workers_extracts_its_candidates_in_children(monkeypatch):
    task = SearchTask(matmul, args=(48, 40, 56), target="llvm")
    search = SketchSearch(task, seed=1, cost_model=_NoModel())  # features only: no XGBoost to load
    search.feature_workers = 2
    shares = []
    real = executor.run_isolated

    def counting(fn, jobs, n_parallel=1, timeout=10.0):
        shares.extend(len(job[0]) for job in jobs)
        return real(fn, jobs, n_parallel=n_parallel, timeout=timeout)

    monkeypatch.setattr(executor, "run_isolated", counting)
    configs = _candidates(task, 3, 7)
    keys = [search._key(*from_config(c)) for c in configs]
    rows = search._features(keys)
    assert sum(shares) == len(set(keys)) and len(shares) == 2
    expected = [features(task, c) for c in configs]
    nan_row = np.full(rows.shape[1], np.nan, dtype=np.float32)
    assert np.array_equal(rows, np.array([nan_row if f is None else f for f in expected], dtype=np.float32),
                          equal_nan=True)
    # Known candidates are not extracted again.
    shares.clear()
    search._features(keys)
    assert shares == []
