

def test_symbolic_dimensions_serialize_by_name_and_come_back_shared():
    from tensorlang import te
    from tensorlang.autotune.task.task import deserialize_args, serialize_args
    n = te.var("n")
    A = te.placeholder((n, 8), name="A")
    B = te.placeholder((n,), name="B", dtype="int32")
    args = serialize_args([A, B, 3])
    assert args == (("TENSOR", ("n", 8), "float32"), ("TENSOR", ("n",), "int32"), 3)
    a, b, k = deserialize_args(args)
    assert a.shape[0] is b.shape[0] and str(a.shape[0]) == "n" and int(a.shape[1]) == 8 and k == 3
