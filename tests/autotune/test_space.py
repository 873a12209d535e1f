"""Config spaces: enumeration, index <-> config round trips, policies, constraints, fallback."""

import pytest

from tensorlang import autotune, te
from tensorlang.autotune.space import ConfigEntity, ConfigSpace, FallbackConfigEntity, InstantiationError, SplitSpace


def _space():
    cfg = ConfigSpace()
    cfg.define_split("tile", 64, num_outputs=3)
    cfg.define_reorder("order", [0, 1, 2], policy="all")
    cfg.define_annotate("ann", [0, 1], policy="try_unroll_vec")
    cfg.define_knob("unroll", [0, 16, 512])
    return cfg


def test_len_is_the_product_of_knob_sizes():
    cfg = _space()  # try_unroll_vec over 2 axes has 8 choices, as TVM enumerates them
    assert len(cfg) == len(cfg.space_map["tile"]) * 6 * 8 * 3
    assert "ConfigSpace" in str(cfg) and "tile" in str(cfg)


def test_index_round_trip_every_config():
    cfg = _space()
    for i in range(0, len(cfg), 7):
        c = cfg.get(i)
        assert cfg.index_of(c) == i
        assert cfg.index_of_point(cfg.point_of(i)) == i
        again = ConfigEntity.from_json(c.to_json())
        assert again.to_json() == c.to_json()
    with pytest.raises(IndexError):
        cfg.get(len(cfg))


@pytest.mark.parametrize("policy,check", [
    ("factors", lambda sizes: all(64 % (a * b) == 0 for _, a, b in sizes)),
    ("power2", lambda sizes: all(a & (a - 1) == 0 and b & (b - 1) == 0 for _, a, b in sizes)),
])
def test_split_policies(policy, check):
    sp = SplitSpace(64, policy=policy, num_outputs=3)
    sizes = [e.size for e in sp.entities]
    assert sizes and check(sizes)
    assert len(SplitSpace(64, policy="factors", num_outputs=2, max_factor=8).entities) == 4  # 1, 2, 4, 8
    filtered = SplitSpace(64, num_outputs=2, filter=lambda e: e.size[-1] >= 16)
    assert all(e.size[-1] >= 16 for e in filtered.entities)
    cand = SplitSpace(64, policy="candidate", num_outputs=2, candidate=[[-1, 4], [-1, 16]])
    assert [e.size for e in cand.entities] == [[-1, 4], [-1, 16]]


def test_constraints_filter_configs():
    cfg = ConfigSpace()
    cfg.define_knob("a", [1, 2, 4, 8])
    cfg.define_knob("b", [1, 2, 4, 8])
    cfg.add_constraint(lambda c: c["a"].val * c["b"].val <= 8, "a*b <= 8")
    valid = [i for i in range(len(cfg)) if cfg.is_valid(i)]
    assert len(valid) == 10
    bad = next(i for i in range(len(cfg)) if not cfg.is_valid(i))
    with pytest.raises(InstantiationError, match="a\\*b <= 8"):
        cfg.check(cfg.get(bad))


def test_fallback_picks_sensible_defaults_and_warns_once():
    @autotune.template("test_space/vadd")
    def vadd(n):
        A = te.placeholder((n,), name="A")
        B = te.compute((n,), lambda i: A[i] + 1.0, name="B")
        s = te.create_schedule(B.op)
        cfg = autotune.get_config()
        cfg.define_split("x", B.op.axis[0], num_outputs=2)
        cfg.define_knob("k", [3, 5])
        xo, xi = cfg["x"].apply(s, B, B.op.axis[0])
        vadd.seen = (cfg.is_fallback, cfg["x"].size, cfg["k"].val)
        return s, [A, B]

    with pytest.warns(UserWarning, match="fallback") as rec:
        vadd(64)
        vadd(64)
    assert len([w for w in rec if "fallback" in str(w.message)]) == 1
    assert vadd.seen == (True, [-1, 16], 3)
    assert isinstance(FallbackConfigEntity(), ConfigSpace)


def test_get_config_outside_a_template_is_an_error():
    with pytest.raises(Exception, match="only valid inside"):
        autotune.get_config()


def test_task_identity_is_stable():
    @autotune.template("test_space/ident")
    def ident(n, dtype):
        A = te.placeholder((n,), name="A", dtype=dtype)
        B = te.compute((n,), lambda i: A[i] * 2, name="B")
        return te.create_schedule(B.op), [A, B]

    t1 = autotune.task.create("test_space/ident", (128, "float32"), "llvm")
    t2 = autotune.task.create("test_space/ident", [128, "float32"], "llvm")
    assert t1.workload_key == t2.workload_key == '["test_space/ident",[128,"float32"]]'
    assert t1.flop == 128


def test_reorder_candidates_given_as_axes_apply_those_orders():
    """TVM templates pass define_reorder(policy="candidate") lists of the axes themselves; each
    config's order is applied to the stage, and the lowered loops nest in that order."""
    import numpy as np

    import tensorlang as tl

    def build(index):
        A = te.placeholder((8, 16), name="A")
        B = te.compute((8, 16), lambda i, j: A[i, j] * 2.0, name="B")
        s = te.create_schedule(B.op)
        y, x = s[B].op.axis
        cfg = ConfigSpace()
        cfg.define_reorder("order", [y, x], policy="candidate", candidate=[[y, x], [x, y]])
        entity = cfg.get(index)
        entity["order"].apply(s, B, [y, x])
        return s, [A, B]

    for index, outer in ((0, "i"), (1, "j")):
        s, args = build(index)
        assert str(tl.lower(s, args)).split("for (")[1].startswith(outer)
        a = np.random.default_rng().standard_normal((8, 16)).astype("float32")
        b = np.empty_like(a)
        tl.build(s, args)(a, b)
        np.testing.assert_allclose(b, a * 2.0)
    A = te.placeholder((4, 4), name="A")
    B = te.compute((4, 4), lambda i, j: A[i, j], name="B")
    y, x = B.op.axis
    with pytest.raises(InstantiationError, match="candidate axis 'k' is not one of the axes"):
        ConfigSpace().define_reorder("order", [y, x], policy="candidate", candidate=[[y, te.reduce_axis((0, 4), "k")]])
