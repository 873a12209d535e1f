"""A user lowering pass both code generators' store-dtype tests run: it narrows every stored value
to float32, which in a float64 buffer would write foreign bits if a generator let it through."""

import tensorlang as tvm


@tvm.tir.transform.prim_func_pass(opt_level=0)
def narrow_stores(f, mod, ctx):
    return f.with_body(tvm.tir.stmt_functor.ir_transform(
        f.body, None, lambda op: tvm.tir.BufferStore(op.buffer, op.value.astype("float32"), op.indices),
        ["tir.BufferStore"]))
