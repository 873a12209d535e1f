"""TVM 0.12 AutoTVM knob and dispatch API: raise_error, add_flop of IntImm, to_json_dict,
interval_all reorders, TVM's annotate spaces (locate_cache too), ApplyHistoryBest inputs, update.

Each space or config is checked against the values TVM 0.12's ``autotvm/task/space.py`` and
``dispatcher.py`` give; each one that computes is tuned or built and compared with numpy on fresh
random data."""

import io
import itertools

import numpy as np
import pytest

import tensorlang as tl
from tensorlang import autotune as autotvm
from tensorlang import te
from tensorlang.autotune import record
from tensorlang.autotune.measure import MeasureErrorNo
from tensorlang.autotune.space import (
    AnnotateSpace,
    ConfigEntity,
    ConfigSpace,
    FallbackConfigEntity,
    InstantiationError,
)


def _option():
    return autotvm.measure_option(builder=autotvm.LocalBuilder(timeout=30), runner=autotvm.LocalRunner(number=1))


def _tune(task, n_trial, log=None):
    """Grid-search ``task`` for ``n_trial`` trials; the (input, result) pairs measured."""
    got = []
    callbacks = [lambda _t, inps, ress: got.extend(zip(inps, ress))]
    if log is not None:
        callbacks.append(autotvm.callback.log_to_file(str(log)))
    autotvm.tuner.GridSearchTuner(task).tune(n_trial, _option(), callbacks=callbacks)
    return got


def _run(s, args, *inputs):
    """Build (s, args) for llvm and run it on ``inputs``; the output array."""
    f = tl.build(s, args, target="llvm")
    out = tl.nd.array(np.zeros([int(d.value) for d in args[-1].shape], dtype=str(args[-1].dtype)))
    f(*[tl.nd.array(x) for x in inputs], out)
    return out.numpy()


# --- 1. raise_error marks a config invalid; the template goes on ------------------------------

@autotvm.template("tvmknob/add_inner_le8")
def add_inner_le8(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 3.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("tile", B.op.axis[0], num_outputs=2)
    if cfg["tile"].size[-1] > 8:
        cfg.raise_error("inner tile too big")
    cfg["tile"].apply(s, B, B.op.axis[0])
    return s, [A, B]


@autotvm.template("tvmknob/add_inner_ge4")
def add_inner_ge4(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("tile", B.op.axis[0], num_outputs=2)
    if cfg["tile"].size[-1] < 4:  # the space's first candidate (inner 1) trips it while collecting
        cfg.raise_error("inner tile too small")
        cfg.raise_error("second message")
    cfg["tile"].apply(s, B, B.op.axis[0])
    return s, [A, B]


def test_raise_error_appends_to_errors_and_returns():
    for cfg in (ConfigSpace(), ConfigSpace().get(0), FallbackConfigEntity()):
        assert cfg.errors == [] and cfg.valid()
        assert cfg.raise_error("too many threads") is None
        cfg.raise_error("too much unrolling")
        assert cfg.errors == ["too many threads", "too much unrolling"] and not cfg.valid()


def test_task_create_collects_the_space_despite_raise_error():
    task = autotvm.task.create("tvmknob/add_inner_ge4", args=(64,), target="llvm")
    assert len(task.config_space) == 7  # factors 1..64, as TVM's
    assert task.config_space.errors == ["inner tile too small", "second message"]  # collected, not raised


def test_instantiate_of_a_config_with_errors_is_an_instantiation_error():
    task = autotvm.task.create("tvmknob/add_inner_ge4", args=(64,), target="llvm")
    with pytest.raises(InstantiationError, match="inner tile too small; second message"):
        task.instantiate(task.config_space.get(0))  # inner 1
    cfg = task.config_space.get(3)  # inner 8
    s, args = task.instantiate(cfg)
    assert cfg.errors == []
    a = np.random.default_rng().standard_normal(64).astype("float32")
    np.testing.assert_allclose(_run(s, args, a), a + 1.0, rtol=1e-5, atol=1e-6)
    # the fallback (inner 16 here, but a fallback ignores errors anyway) builds
    s, args = task.instantiate(FallbackConfigEntity())
    np.testing.assert_allclose(_run(s, args, a), a + 1.0, rtol=1e-5, atol=1e-6)


def test_tuning_measures_the_valid_configs_and_reports_the_others(tmp_path):
    # The fallback config (inner 16) trips raise_error: the correctness reference must still
    # build, so configs with inner <= 8 measure and the others are instantiation errors.
    task = autotvm.task.create("tvmknob/add_inner_le8", args=(64,), target="llvm")
    log = tmp_path / "le8.json"
    got = _tune(task, 7, log)
    by_inner = {inp.config["tile"].size[-1]: res for inp, res in got}
    assert sorted(by_inner) == [1, 2, 4, 8, 16, 32, 64]
    for inner, res in by_inner.items():
        if inner <= 8:
            assert res.error_no == MeasureErrorNo.NO_ERROR, res.error_msg
        else:
            assert res.error_no == MeasureErrorNo.INSTANTIATION_ERROR
            assert "inner tile too big" in res.error_msg
    a = np.random.default_rng().standard_normal(64).astype("float32")
    with autotvm.apply_history_best(str(log)), tl.target.Target("llvm"):
        s, args = add_inner_le8(64)
    np.testing.assert_allclose(_run(s, args, a), a * 3.0 + 1.0, rtol=1e-5, atol=1e-6)
    # a plain build without records gets the fallback (inner 16) and ignores its error, as TVM's
    autotvm.DispatchContext.current.silent = True
    try:
        with tl.target.Target("llvm"):
            s, args = add_inner_le8(64)
    finally:
        autotvm.DispatchContext.current.silent = False
    np.testing.assert_allclose(_run(s, args, a), a * 3.0 + 1.0, rtol=1e-5, atol=1e-6)


# --- 2. add_flop takes IntImm / FloatImm -------------------------------------------------------

@autotvm.template("tvmknob/flop_intimm")
def flop_intimm(n):
    A = te.placeholder((n, n), name="A")
    B = te.compute(A.shape, lambda i, j: A[i, j] * 2, name="B")
    cfg = autotvm.get_config()
    cfg.add_flop(B.shape[0] * B.shape[1])  # an IntImm, as TVM templates pass
    return te.create_schedule(B.op), [A, B]


def test_add_flop_accepts_intimm_and_floatimm():
    task = autotvm.task.create("tvmknob/flop_intimm", args=(8,), target="llvm")
    assert task.flop == 64.0
    cs = ConfigSpace()
    cs.add_flop(tl.tir.IntImm("int32", 6))
    cs.add_flop(tl.tir.FloatImm("float32", 1.5))
    cs.add_flop(2)
    cs.add_flop(0.5)
    assert cs.flop == 10.0
    entity = ConfigSpace().get(0)
    entity.add_flop(tl.tir.IntImm("int64", 7))
    assert entity.flop == 7.0
    with pytest.raises(InstantiationError, match="add_flop expects"):
        cs.add_flop("12")
    a = np.random.default_rng().standard_normal((8, 8)).astype("float32")
    s, args = task.instantiate(task.config_space.get(0))
    np.testing.assert_allclose(_run(s, args, a), a * 2, rtol=1e-5, atol=1e-6)


# --- 3. ConfigEntity.to_json_dict / from_json_dict, num_output, get_other_option, load_from_buffer

def test_to_json_dict_is_tvms_and_round_trips():
    cs = ConfigSpace()
    cs.define_split("tile", cs.axis(64), num_outputs=2)
    cs.define_knob("unroll", [0, 1])
    cs.define_reorder("re", [cs.axis(2), cs.axis(3)], policy="all")
    cs.define_annotate("an", [cs.axis(2), cs.axis(3)], policy="try_unroll")
    cfg = cs.get(3)
    d = cfg.to_json_dict()
    assert d == {"index": 3, "code_hash": None, "entity": [["tile", "sp", [-1, 8]], ["unroll", "ot", 0],
                                                            ["re", "re", [0, 1]], ["an", "an", ["none", "none"]]]}
    again = ConfigEntity.from_json_dict(d)
    assert again.index == 3 and again.code_hash is None and again.to_json_dict() == d
    assert again["tile"].size == [-1, 8] and again["unroll"].val == 0 and cs.index_of(again) == 3
    with pytest.raises(InstantiationError, match="from_json_dict"):
        ConfigEntity.from_json_dict({"index": 0})


def test_num_output_get_other_option_and_errors():
    cs = ConfigSpace()
    cs.define_split("tile", cs.axis(64), num_outputs=3)
    cs.define_knob("unroll", [0, 1])
    cs.define_knob("vec", ["a", "b"])
    assert cs.space_map["tile"].num_output == 3 == cs.space_map["tile"].num_outputs
    index = cs.knob2point([0, 1, 1])
    assert cs.get(index).get_other_option() == {"unroll": 1, "vec": "b"}
    assert cs.errors == [] and cs.get(0).errors == []


def test_load_from_buffer_reads_the_records_of_an_open_log(tmp_path):
    task = autotvm.task.create("tvmknob/add_inner_ge4", args=(32,), target="llvm")
    log = tmp_path / "buf.json"
    _tune(task, 3, log)
    from_file = list(record.load_from_file(str(log)))
    with open(log) as f:
        from_buffer = list(autotvm.record.load_from_buffer(f))
    assert len(from_buffer) == 3
    assert [(i.config.to_json(), r.error_no, r.costs) for i, r in from_buffer] == \
        [(i.config.to_json(), r.error_no, r.costs) for i, r in from_file]
    text = log.read_text()
    with pytest.warns(UserWarning, match="skipped 1 invalid line"):
        assert len(list(record.load_from_buffer(io.StringIO(text + "not json\n")))) == 3
    assert len(list(record.load_from_buffer(io.BytesIO(text.encode())))) == 3
    with pytest.raises(record.RecordError, match="expects an open file"):
        record.load_from_buffer(str(log))


# --- 4. ApplyHistoryBest of an open file, or of a list mixing paths and records ----------------

@autotvm.template("tvmknob/scale")
def scale(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] * 0.5 - 2.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("t", B.op.axis[0], num_outputs=2)
    cfg["t"].apply(s, B, B.op.axis[0])
    return s, [A, B]


@pytest.fixture(scope="module")
def scale_log(tmp_path_factory):
    task = autotvm.task.create("tvmknob/scale", args=(64,), target="llvm")
    log = tmp_path_factory.mktemp("scale") / "scale.json"
    got = _tune(task, 4, log)
    assert all(res.ok for _, res in got)
    return task, log


def _best_index(log):
    recs = [(i, r) for i, r in record.load_from_file(str(log)) if r.ok]
    return min(recs, key=lambda ir: record.record_cost(ir[1]))[0].config.index


def test_apply_history_best_takes_an_open_file_and_mixed_lists(scale_log):
    task, log = scale_log
    recs = list(record.load_from_file(str(log)))
    best = _best_index(log)
    a = np.random.default_rng().standard_normal(64).astype("float32")
    with open(log) as f:
        contexts = [autotvm.apply_history_best(f), autotvm.task.ApplyHistoryBest([str(log), recs[0]]),
                    autotvm.apply_history_best([recs[:2], str(log)])]
    for ctx in contexts:
        assert ctx.query(tl.target.Target("llvm"), task.workload).index == best
        with ctx, tl.target.Target("llvm"):
            s, args = scale(64)
        np.testing.assert_allclose(_run(s, args, a), a * 0.5 - 2.0, rtol=1e-5, atol=1e-6)
    with pytest.raises(record.RecordError, match="apply_history_best expects"):
        autotvm.apply_history_best([str(log), 42])


# --- 5. DispatchContext.update, FallbackContext.clear_cache, clear_fallback_cache -------------

_seen: list = []


@autotvm.template("tvmknob/seen")
def seen(n):
    A = te.placeholder((n,), name="A")
    B = te.compute((n,), lambda i: A[i] - 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    cfg.define_split("t", B.op.axis[0], num_outputs=2)
    _seen.append(cfg)
    cfg["t"].apply(s, B, B.op.axis[0])
    return s, [A, B]


def test_update_pins_a_config_for_a_workload(scale_log):
    _, log = scale_log
    task = autotvm.task.create("tvmknob/seen", args=(32,), target="llvm")
    target = tl.target.Target("llvm")
    pinned = task.config_space.get(4)  # inner 16
    a = np.random.default_rng().standard_normal(32).astype("float32")
    ctx = autotvm.apply_history_best(str(log))
    assert ctx.query(target, task.workload).is_fallback  # the log holds no record of it
    ctx.update(target, task.workload, pinned)
    assert ctx.query(target, task.workload) is pinned and ctx.query("llvm", task.workload_key) is pinned
    with ctx, target:
        s, args = seen(32)
    assert _seen[-1] is pinned
    np.testing.assert_allclose(_run(s, args, a), a - 1.0, rtol=1e-5, atol=1e-6)

    fallback = autotvm.FallbackContext()
    assert fallback.query(target, task.workload).is_fallback
    fallback.update(target, task.workload, task.config_space.get(2))
    assert fallback.query(target, task.workload).index == 2
    with fallback, target:
        s, args = seen(32)
        assert _seen[-1].index == 2
        autotvm.task.clear_fallback_cache(target, task.workload)  # the innermost FallbackContext
    np.testing.assert_allclose(_run(s, args, a), a - 1.0, rtol=1e-5, atol=1e-6)
    assert fallback.query(target, task.workload).is_fallback
    fallback.update(target, task.workload, task.config_space.get(1))
    fallback.clear_cache(target, task.workload)
    assert fallback.query(target, task.workload).is_fallback


def test_root_context_update_and_clear_fallback_cache():
    task = autotvm.task.create("tvmknob/seen", args=(16,), target="llvm")
    target = tl.target.Target("llvm")
    root = autotvm.DispatchContext.current
    root.update(target, task.workload, task.config_space.get(1))
    try:
        assert root.query(target, task.workload).index == 1
        with target:
            s, args = seen(16)
        assert _seen[-1].index == 1
        a = np.random.default_rng().standard_normal(16).astype("float32")
        np.testing.assert_allclose(_run(s, args, a), a - 1.0, rtol=1e-5, atol=1e-6)
    finally:
        autotvm.task.clear_fallback_cache(target, task.workload)
    assert root.query(target, task.workload).is_fallback


# --- 6. define_reorder(policy="interval_all", interval=(b, e)) --------------------------------

@autotvm.template("tvmknob/interval_all")
def interval_all(n):
    A = te.placeholder((n, n), name="A")
    B = te.compute((n, n), lambda i, j: A[i, j] * A[j, i] + 1.0, name="B")
    s = te.create_schedule(B.op)
    cfg = autotvm.get_config()
    i, j = s[B].op.axis
    cfg.define_split("t", j, num_outputs=2)
    jo, ji = cfg["t"].apply(s, B, j)
    cfg.define_reorder("re", [i, jo, ji], policy="interval_all", interval=(0, 2))
    cfg["re"].apply(s, B, [i, jo, ji])
    return s, [A, B]


def test_interval_all_permutes_the_interval_only():
    cs = ConfigSpace()
    axes = [cs.axis(2) for _ in range(4)]
    cs.define_reorder("re", axes, policy="interval_all", interval=(1, 3))
    assert [e.perm for e in cs.space_map["re"].entities] == [[0, 1, 2, 3], [0, 2, 1, 3]]
    cs.define_reorder("re2", axes, policy="interval_all", interval=(0, 3))
    assert [e.perm for e in cs.space_map["re2"].entities] == \
        [list(p) + [3] for p in itertools.permutations(range(3))]
    with pytest.raises(InstantiationError, match="interval"):
        ConfigSpace().define_reorder("bad", axes, policy="interval_all", interval=(2, 5))
    with pytest.raises(InstantiationError, match="interval=\\(begin, end\\)"):
        ConfigSpace().define_reorder("bad", axes, policy="interval_all")


def test_interval_all_template_tunes_and_matches_numpy():
    task = autotvm.task.create("tvmknob/interval_all", args=(8,), target="llvm")
    assert len(task.config_space) == 8  # 4 splits of 8 x 2 orders of (i, jo), as TVM's
    got = _tune(task, 8)
    assert len(got) == 8 and all(res.ok for _, res in got), [r.error_msg for _, r in got if not r.ok]
    a = np.random.default_rng().standard_normal((8, 8)).astype("float32")
    for cfg in task.config_space:
        assert cfg["re"].perm[2] == 2
        s, args = task.instantiate(cfg)
        np.testing.assert_allclose(_run(s, args, a), a * a.T + 1.0, rtol=1e-5, atol=1e-6)


# --- 7. define_annotate spaces as TVM's; max_unroll and vec_size ------------------------------

def test_annotate_spaces_match_tvm():
    def anns(n, policy):
        return [e.anns for e in AnnotateSpace(n, policy).entities]
    assert anns(1, "try_unroll_vec") == [["none"], ["unroll"], ["vec"]]
    assert anns(2, "try_unroll_vec") == [["none", "none"], ["none", "unroll"], ["none", "vec"],
                                         ["unroll", "none"], ["unroll", "unroll"], ["unroll", "vec"],
                                         ["vec", "none"], ["vec", "unroll"]]
    assert anns(2, "try_vec") == [["none", "none"], ["none", "vec"], ["vec", "none"]]
    assert anns(2, "try_unroll") == [["none", "none"], ["none", "unroll"], ["unroll", "none"], ["unroll", "unroll"]]
    assert anns(3, "unroll") == [["unroll"] * 3]
    assert len(AnnotateSpace(3, "try_unroll_vec").entities) == 2 ** 3 + 3 * 2 ** 2  # no vec, or one of 3
    with pytest.raises(InstantiationError, match="unknown annotate policy"):
        AnnotateSpace(2, "try_parallel")
    with pytest.raises(InstantiationError, match="empty"):
        AnnotateSpace(2, "vec")  # two axes, one vec at most: TVM's space is empty too


@autotvm.template("tvmknob/annotate")
def annotate(n, m, max_unroll):
    A = te.placeholder((n, m), name="A")
    B = te.compute((n, m), lambda i, j: A[i, j] * 2.0 + 1.0, name="B")
    s = te.create_schedule(B.op)
    i, j = s[B].op.axis
    cfg = autotvm.get_config()
    cfg.define_annotate("ann", [i, j], policy="try_unroll_vec")
    cfg["ann"].apply(s, B, [i, j], axis_lens=[n, m], max_unroll=max_unroll, cfg=cfg)
    return s, [A, B]


def test_annotate_every_config_builds_and_max_unroll_is_an_instantiation_error():
    task = autotvm.task.create("tvmknob/annotate", args=(4, 16, 8), target="llvm")
    assert len(task.config_space) == 8
    got = _tune(task, 8)
    a = np.random.default_rng().standard_normal((4, 16)).astype("float32")
    for inp, res in got:
        if inp.config["ann"].anns[1] == "unroll":  # 16 > max_unroll 8: TVM's raise_error
            assert res.error_no == MeasureErrorNo.INSTANTIATION_ERROR
            assert "Too large factor for unrolling" in res.error_msg
        else:
            assert res.ok, res.error_msg
    # built anyway outside measurement (the errors only mark the config), and right
    for cfg in task.config_space:
        with autotvm.ApplyConfig(cfg), tl.target.Target("llvm"):
            s, args = annotate(4, 16, 8)
        np.testing.assert_allclose(_run(s, args, a), a * 2.0 + 1.0, rtol=1e-5, atol=1e-6)


def test_annotate_vec_size_and_ambient_config():
    cs = ConfigSpace()
    cs.define_annotate("a", [cs.axis(4), cs.axis(6)], policy="try_vec")
    cfg = cs.get(1)  # none, vec
    A = te.placeholder((4, 6), name="A")
    B = te.compute((4, 6), lambda i, j: A[i, j] + 2.0, name="B")
    s = te.create_schedule(B.op)
    with autotvm.ApplyConfig(cfg):  # not the ambient config: cfg= says where errors go
        cfg["a"].apply(s, B, list(B.op.axis), axis_lens=[4, 6], vec_size=[2, 4, 8], cfg=cfg)
    assert cfg.errors == ["Wrong size of lanes in vectorization"]
    a = np.random.default_rng().standard_normal((4, 6)).astype("float32")
    np.testing.assert_allclose(_run(s, [A, B], a), a + 2.0, rtol=1e-5, atol=1e-6)


# --- 8. define_annotate(policy="locate_cache", num_anchor=k) with apply(source=...) -----------

@autotvm.template("tvmknob/locate_cache")
def locate_cache(n):
    A = te.placeholder((n, n), name="A")
    W = te.placeholder((n, n), name="W")
    B = te.compute((n, n), lambda i, j: A[i, j] * 2.0 + W[j, i], name="B")
    s = te.create_schedule(B.op)
    AA = s.cache_read(A, "global", [B])
    WW = s.cache_read(W, "global", [B])
    i, j = s[B].op.axis
    cfg = autotvm.get_config()
    cfg.define_annotate("loc", [i, j], policy="locate_cache", num_anchor=2)
    cfg["loc"].apply(s, B, [i, j], source=[[AA], [WW]])
    return s, [A, W, B]


def test_locate_cache_space_and_apply():
    cs = ConfigSpace()
    cs.define_annotate("one", [cs.axis(8), cs.axis(8)], policy="locate_cache", num_anchor=1)
    cs.define_annotate("two", [cs.axis(8)] * 3, policy="locate_cache", num_anchor=2)
    assert [e.anns for e in cs.space_map["one"].entities] == [[0], [1]]
    assert [e.anns for e in cs.space_map["two"].entities] == [[0, 1], [0, 2], [1, 2]]
    assert ConfigEntity.from_json(cs.get(5).to_json()).to_json() == cs.get(5).to_json()
    task = autotvm.task.create("tvmknob/locate_cache", args=(8,), target="llvm")
    assert len(task.config_space) == 1  # combinations of 2 anchors among 2 axes
    rng = np.random.default_rng()
    a, w = (rng.standard_normal((8, 8)).astype("float32") for _ in range(2))
    got = _tune(task, 1)
    assert all(res.ok for _, res in got), [r.error_msg for _, r in got]
    s, args = task.instantiate(task.config_space.get(0))
    assert "A.global" in str(tl.lower(s, args))
    np.testing.assert_allclose(_run(s, args, a, w), a * 2.0 + w.T, rtol=1e-5, atol=1e-6)


@autotvm.template("tvmknob/locate_cache1")
def locate_cache1(n):
    A = te.placeholder((n, n), name="A")
    B = te.compute((n, n), lambda i, j: A[i, j] * 2.0, name="B")
    s = te.create_schedule(B.op)
    AA = s.cache_read(A, "global", [B])
    i, j = s[B].op.axis
    cfg = autotvm.get_config()
    cfg.define_annotate("loc", [i, j], policy="locate_cache", num_anchor=1)
    cfg["loc"].apply(s, B, [i, j], source=[[AA]])
    return s, [A, B]


def test_locate_cache_each_anchor_tunes_and_matches_numpy():
    task = autotvm.task.create("tvmknob/locate_cache1", args=(8,), target="llvm")
    assert len(task.config_space) == 2  # TVM: 2
    got = _tune(task, 2)
    assert len(got) == 2 and all(res.ok for _, res in got), [r.error_msg for _, r in got]
    a = np.random.default_rng().standard_normal((8, 8)).astype("float32")
    for cfg in task.config_space:
        s, args = task.instantiate(cfg)
        np.testing.assert_allclose(_run(s, args, a), a * 2.0, rtol=1e-5, atol=1e-6)
    cs = ConfigSpace()
    cs.define_annotate("u", [cs.axis(8)], policy="try_unroll")
    B = te.compute((8, 8), lambda i, j: 1.0, name="B")
    with pytest.raises(InstantiationError, match="locate_cache"):  # an unroll knob has no anchors
        cs.get(1)["u"].apply(te.create_schedule(B.op), B, list(B.op.axis), source=[[B]])
