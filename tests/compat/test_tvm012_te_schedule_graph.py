"""TVM 0.12's schedule-graph unit tests (test_te_schedule_graph.py) as a TVM user's code reads
after ``import tensorlang as tvm; from tensorlang import te``, test names kept: the read graph
and its post-order, attach paths, a scan's body and its fix-point analysis (which state
dimensions the body carries unchanged).  TVM's test_scan defines its three checks and never
calls them; here they run, two of them corrected to what TVM's functions return (a scan's body
holds the stages between its state and update, not the scan; ``spatial_axis_`` is the op's)."""

# ruff: noqa: F841 - TVM's test code as is (results it only builds)

import tensorlang as tvm
from tensorlang import te


def test_scan():
    m = te.var("m")
    n = te.var("n")
    x = te.compute((m, n), lambda i, j: tvm.tir.const(1, "float32"), name="x")
    s_state = te.placeholder((m, n))
    s_init = te.compute((1, n), lambda _, i: x[0, i], name="s_init")
    x_trans = te.compute((m, n), lambda i, j: x[i, j] + 1, name="x_trans")
    s_up1 = te.compute((m, n), lambda t, i: s_state[t - 1, i] + 1, name="up1")
    s_update = te.compute((m, n), lambda t, i: s_up1[t, i] + x_trans[t, i], name="update")
    s_scan = tvm.te.scan(s_init, s_update, s_state)

    def test_getbody():
        body = tvm.te.schedule.ScanGetBody(s_scan.op)
        # TVM's test (never run there) also lists s_scan.op
        assert set(body) == set([s_update.op, s_up1.op])
        assert list(body) == [s_up1.op, s_update.op]  # producers first

    def test_attach_path():
        s = te.create_schedule(s_scan.op)
        s[x_trans].compute_at(s[s_update], s_update.op.axis[0])
        apath = tvm.te.schedule.CreateAttachPath(s)
        assert tuple(apath[s_update.op]) == tuple([s_scan.op.scan_axis])
        assert tuple(apath[x_trans.op]) == tuple([s_update.op.axis[0], s_scan.op.scan_axis])

    def test_fix_pt():
        body = tvm.te.schedule.ScanGetBody(s_scan.op)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(s_scan.op)
        assert fxpt[s_scan.op.spatial_axis_[0]].value != 0

    test_getbody()
    test_attach_path()
    test_fix_pt()


def test_scan_fix_point():
    m = te.var("m")
    n = te.var("n")
    l = te.var("l")
    x = te.compute((l, m, n), lambda *i: tvm.tir.const(1, "float32"), name="x")
    s_state = te.placeholder((l, m, n))
    s_init = te.compute((1, m, n), lambda _, i, j: x[0, i, j], name="s_init")

    def test_scan0():
        s_update = te.compute(
            (l, m, n), lambda t, i, j: x[t, j, i] + s_state[t - 1, i, j], name="update"
        )
        s_scan = tvm.te.scan(s_init, s_update, s_state)
        body = tvm.te.schedule.ScanGetBody(s_scan.op)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(s_scan.op)
        assert fxpt[s_scan.op.spatial_axis_[0]].value == 1
        assert fxpt[s_scan.op.spatial_axis_[1]].value == 1

    def test_scan1():
        s_update = te.compute(
            (l, m, n), lambda t, i, j: x[t, j, i] + s_state[t - 1, j, i], name="update"
        )
        s_scan = tvm.te.scan(s_init, s_update, s_state)
        body = tvm.te.schedule.ScanGetBody(s_scan.op)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(s_scan.op)
        assert fxpt[s_scan.op.spatial_axis_[0]].value == 0
        assert fxpt[s_scan.op.spatial_axis_[1]].value == 0

    def test_scan3_not_exact_reach():
        s_h1 = te.compute((l, n, m), lambda t, j, i: s_state[t - 1, i, j], name="h1")
        s_h2 = te.compute((l, m, n), lambda t, i, j: s_state[t - 1, i, 10] * 2, name="h1")
        s_update = te.compute(
            (l, m, n), lambda t, i, j: s_h1[t, j, i] + s_h2[t, i, j], name="update"
        )
        s_scan = tvm.te.scan(s_init, s_update, s_state)
        body = tvm.te.schedule.ScanGetBody(s_scan.op)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(s_scan.op)
        assert fxpt[s_scan.op.spatial_axis_[0]].value == 1
        assert fxpt[s_scan.op.spatial_axis_[1]].value == 0

    def test_scan4_reach_other():
        s_h1 = te.compute((l, n, m), lambda t, j, i: s_state[t - 1, j, j], name="h1")
        s_h2 = te.compute((l, m, n), lambda t, i, j: s_state[t - 1, i, j] * 2, name="h1")
        s_update = te.compute(
            (l, m, n), lambda t, i, j: s_h1[t, j, i] + s_h2[t, i, j], name="update"
        )
        s_scan = tvm.te.scan(s_init, s_update, s_state)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(s_scan.op)
        assert fxpt[s_scan.op.spatial_axis_[0]].value == 0
        assert fxpt[s_scan.op.spatial_axis_[1]].value == 0

    def test_scan5_multi_output():
        m = te.var("m")
        n = te.var("n")
        x1 = te.placeholder((m, n))
        s1 = te.placeholder((m, n))
        x2 = te.placeholder((m, n))
        s2 = te.placeholder((m, n))
        s1_init = te.compute((1, n), lambda _, i: x1[0, i])
        s2_init = te.compute((1, n), lambda _, i: x2[0, i])
        s1_update = te.compute((m, n), lambda t, i: s1[t - 1, i] + x1[t, i])
        s2_update = te.compute((m, n), lambda t, i: x2[t, i] + s2[t - 1, i])
        r0, r1 = tvm.te.scan([s1_init, s2_init], [s1_update, s2_update], [s1, s2])
        body = tvm.te.schedule.ScanGetBody(r0.op)
        fxpt = tvm.te.schedule.ScanFixPointAnalysis(r0.op)
        assert fxpt[r1.op.spatial_axis_[0]].value == 1

    test_scan0()
    test_scan1()
    test_scan3_not_exact_reach()
    test_scan4_reach_other()
    test_scan5_multi_output()


def test_create_read_graph():
    m = te.var("m")
    l = te.var("l")
    A = te.placeholder((m, l), name="A")
    A1 = te.compute((m, l), lambda i, j: A[i, j])
    A2 = te.compute((m, l), lambda i, j: A1[i, j] + 3)

    g = tvm.te.schedule.CreateReadGraph([A2.op])

    assert g[A2.op][0] == A1
    assert g[A1.op][0] == A
    post_order = tvm.te.schedule.PostDFSOrder([A2.op], g)
    assert post_order[0] == A.op
    assert post_order[1] == A1.op


def test_attach_path_follows_splits_and_nested_compute_at():
    A = te.placeholder((16, 16), name="A")
    B = te.compute((16, 16), lambda i, j: A[i, j] * 2, name="B")
    C = te.compute((16, 16), lambda i, j: B[i, j] + 1, name="C")
    D = te.compute((16, 16), lambda i, j: C[i, j] - 1, name="D")
    s = te.create_schedule(D.op)
    s[C].compute_at(s[D], D.op.axis[1])
    s[B].compute_at(s[C], C.op.axis[0])
    yo, yi = s[D].split(D.op.axis[1], factor=4)  # C's attach axis is split afterwards: C moves to yi
    apath = tvm.te.schedule.CreateAttachPath(s)
    assert list(apath[D.op]) == [] and list(apath[A.op]) == []
    assert list(apath[C.op]) == [yi, yo, D.op.axis[0]]
    assert list(apath[B.op]) == [C.op.axis[0], yi, yo, D.op.axis[0]]


def test_fix_point_of_a_two_state_scan_with_a_swapped_read():
    m, n = te.var("m"), te.var("n")
    x = te.placeholder((m, n, n), name="x")
    s1, s2 = te.placeholder((m, n, n), name="s1"), te.placeholder((m, n), name="s2")
    i1 = te.compute((1, n, n), lambda _, i, j: x[0, i, j], name="i1")
    i2 = te.compute((1, n), lambda _, i: x[0, i, i], name="i2")
    u1 = te.compute((m, n, n), lambda t, i, j: s1[t - 1, j, i] + x[t, i, j], name="u1")  # transposed
    u2 = te.compute((m, n), lambda t, i: s2[t - 1, i] * 2, name="u2")  # carried unchanged
    r1, r2 = tvm.te.scan([i1, i2], [u1, u2], [s1, s2])
    axes = r1.op.spatial_axis_
    assert len(axes) == 3
    fxpt = tvm.te.schedule.ScanFixPointAnalysis(r1.op)
    assert [fxpt[a].value for a in axes] == [0, 0, 1]
