"""TVM 0.12's operator tag tests (test_te_tag.py) as a TVM user's code reads after ``import
tensorlang as tvm; from tensorlang import te``: ``te.tag_scope`` as a block and as a decorator
(computes and externs take its tag), an op's ``attrs`` (numbers read as IntImm, the dict
printed as TVM's JSON-like Map, kept by save_json/load_json), and nested tag scopes refused
with a ValueError, as TVM refuses them."""

# ruff: noqa: F841 - TVM's test code as is (results it only builds)

import json

import pytest

import tensorlang as tvm
from tensorlang import te


@tvm.te.tag_scope(tag="conv")
def compute_conv(data, weight):
    N, IC, H, W = data.shape
    OC, IC, KH, KW = weight.shape
    OH = H - KH + 1
    OW = W - KW + 1

    ic = te.reduce_axis((0, IC), name="ic")
    dh = te.reduce_axis((0, KH), name="dh")
    dw = te.reduce_axis((0, KW), name="dw")

    return te.compute(
        (N, OC, OH, OW),
        lambda i, oc, h, w: te.sum(
            data[i, ic, h + dh, w + dw] * weight[oc, ic, dh, dw], axis=[ic, dh, dw]
        ),
    )


def test_with():
    n = te.size_var("n")
    m = te.size_var("m")
    l = te.size_var("l")

    A = te.placeholder((n, l), name="A")
    B = te.placeholder((m, l), name="B")
    with tvm.te.tag_scope(tag="gemm"):
        k = te.reduce_axis((0, l), name="k")
        C = te.compute(
            (n, m),
            lambda i, j: te.sum(A[i, k] * B[j, k], axis=k),
            attrs={"hello": 1, "arr": [10, 12]},
        )

    assert C.op.tag == "gemm"
    assert "hello" in C.op.attrs
    assert "xx" not in C.op.attrs
    assert C.op.attrs["hello"].value == 1
    CC = tvm.ir.load_json(tvm.ir.save_json(C))
    assert CC.op.attrs["hello"].value == 1
    assert CC.op.attrs["arr"][0].value == 10
    # str format happened to be json compatible
    assert json.loads(str(CC.op.attrs))["arr"][1] == 12


def test_decorator():
    n = te.size_var("n")
    c = te.size_var("c")
    h = te.size_var("h")
    w = te.size_var("w")
    kh = te.size_var("kh")
    kw = te.size_var("kw")

    A = te.placeholder((n, c, h, w), name="A")
    B = te.placeholder((c, c, kh, kw), name="B")
    C = compute_conv(A, B)
    assert C.op.tag == "conv"
    assert len(C.op.attrs) == 0


def test_nested():
    n = te.size_var("n")
    c = te.size_var("c")
    h = te.size_var("h")
    w = te.size_var("w")
    kh = te.size_var("kh")
    kw = te.size_var("kw")

    A = te.placeholder((n, c, h, w), name="A")
    B = te.placeholder((c, c, kh, kw), name="B")
    try:
        with te.tag_scope(tag="conv"):
            C = compute_conv(A, B)
        assert False
    except ValueError:
        pass


def test_nested_refusal_names_both_tags_and_leaves_the_outer_scope_intact():
    A = te.placeholder((4,), name="A")
    with te.tag_scope(tag="outer"):
        with pytest.raises(ValueError, match="'inner'.*'outer'"):
            with te.tag_scope(tag="inner"):
                pass
        assert te.compute((4,), lambda i: A[i] + 1, name="B").op.tag == "outer"
    assert te.compute((4,), lambda i: A[i] + 1, name="C").op.tag == ""


def test_attrs_print_as_json_for_every_operation_kind():
    A = te.placeholder((4,), name="A")
    e = te.extern((4,), [A], lambda ins, outs: tvm.tir.call_packed("f", ins[0], outs[0]), name="E",
                  attrs={"layout": "NC", "scale": 0.5, "ok": True})
    assert json.loads(str(e.op.attrs)) == {"layout": "NC", "scale": 0.5, "ok": True}
    assert e.op.attrs["scale"].value == 0.5
    assert json.loads(str(A.op.attrs)) == {}


def test_extern_in_a_tag_scope_gets_its_tag():
    A = te.placeholder((4,), name="A")
    with te.tag_scope(tag="cblas"):
        e = te.extern((4,), [A], lambda ins, outs: tvm.tir.call_packed("f", ins[0], outs[0]), name="E")
        own = te.extern((4,), [A], lambda ins, outs: tvm.tir.call_packed("f", ins[0], outs[0]), name="F", tag="own")
    assert (e.op.tag, own.op.tag) == ("cblas", "own")
