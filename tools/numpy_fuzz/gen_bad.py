"""Bad input: every scenario must raise a tensorlang error (TensorLangError subclass), never a raw
exception, a crash or a hang; 'error_or_ok' scenarios may also succeed (then any result check in them must hold)."""
from __future__ import annotations

from fuzzlib import CASE_IMPORT

HEAD = f"""import numpy as np, tensorlang as tl
from tensorlang import te, topi
{CASE_IMPORT}
"""

BUILT = """A = te.placeholder((4, 5), dtype='float32', name='A')
B = te.placeholder((4, 5), dtype='float32', name='B')
C = te.compute((4, 5), lambda i, j: A[i, j] + B[i, j], name='C')
s = te.create_schedule(C.op)
f = tl.build(s, [A, B, C], target='llvm')
a = np.ones((4, 5), 'float32'); b = np.ones((4, 5), 'float32'); c = np.zeros((4, 5), 'float32')
"""

SYM = """n = te.var('n'); m = te.var('m')
A = te.placeholder((n, m), dtype='float32', name='A')
B = te.placeholder((n, m), dtype='float32', name='B')
C = te.compute((n, m), lambda i, j: A[i, j] + B[i, j], name='C')
s = te.create_schedule(C.op)
f = tl.build(s, [A, B, C], target='llvm')
a = np.ones((4, 5), 'float32'); b = np.ones((4, 5), 'float32'); c = np.zeros((4, 5), 'float32')
"""

SCALAR = """x = te.var('x', dtype='XDT')
A = te.placeholder((4,), dtype='float32', name='A')
C = te.compute((4,), lambda i: A[i] + x.astype('float32'), name='C')
s = te.create_schedule(C.op)
f = tl.build(s, [A, x, C], target='llvm')
a = np.ones((4,), 'float32'); c = np.zeros((4,), 'float32')
"""

T2 = """A = te.placeholder((3, 4), dtype='float32', name='A')
B = te.placeholder((3, 4), dtype='float32', name='B')
I = te.placeholder((2,), dtype='int32', name='I')
F = te.placeholder((2,), dtype='float32', name='F')
A8 = te.placeholder((3, 4), dtype='int8', name='A8')
"""

# (name, setup, bad statement, mode)
CALL = [
    ("call_dtype_f64", BUILT, "f(a.astype('float64'), b, c)", "error"),
    ("call_dtype_i32", BUILT, "f(a.astype('int32'), b, c)", "error"),
    ("call_dtype_f16_out", BUILT, "f(a, b, c.astype('float16'))", "error"),
    ("call_dtype_bool", BUILT, "f(a.astype(bool), b, c)", "error"),
    ("call_dtype_complex", BUILT, "f(a.astype('complex64'), b, c)", "error"),
    ("call_dtype_object", BUILT, "f(a.astype(object), b, c)", "error"),
    ("call_dtype_structured", BUILT, "f(np.zeros((4, 5), dtype=[('x', 'f4')]), b, c)", "error"),
    ("call_dtype_bigendian", BUILT, "f(a.astype('>f4'), b, c)", "error_or_ok"),
    ("call_shape", BUILT, "f(np.ones((5, 4), 'float32'), b, c)", "error"),
    ("call_shape2", BUILT, "f(a, b, np.zeros((4, 6), 'float32'))", "error"),
    ("call_ndim_more", BUILT, "f(a.reshape(4, 5, 1), b, c)", "error"),
    ("call_ndim_less", BUILT, "f(a.reshape(20), b, c)", "error"),
    ("call_ndim_0d", BUILT, "f(np.float32(1.0), b, c)", "error"),
    ("call_noncontig_slice", BUILT, "f(np.ones((4, 10), 'float32')[:, ::2], b, c)", "error_or_ok"),
    ("call_noncontig_T", BUILT, "f(np.ones((5, 4), 'float32').T, b, c)", "error_or_ok"),
    ("call_noncontig_out", BUILT, "f(a, b, np.zeros((4, 10), 'float32')[:, ::2])", "error"),
    ("call_fortran_out", BUILT, "f(a, b, np.asfortranarray(np.zeros((4, 5), 'float32')))", "error"),
    ("call_negstride", BUILT, "f(a[::-1], b, c)", "error_or_ok"),
    ("call_unaligned", BUILT, "buf = bytearray(4 * 20 + 1); f(np.frombuffer(buf, 'float32', 20, 1).reshape(4, 5), "
                              "b, c)",
     "error_or_ok"),
    ("call_too_few", BUILT, "f(a, b)", "error"),
    ("call_too_many", BUILT, "f(a, b, c, c)", "error"),
    ("call_none", BUILT, "f(None, b, c)", "error"),
    ("call_list", BUILT, "f(a.tolist(), b, c)", "error_or_ok"),
    ("call_int", BUILT, "f(3, b, c)", "error"),
    ("call_str", BUILT, "f('abc', b, c)", "error"),
    ("call_dict", BUILT, "f({}, b, c)", "error"),
    ("call_kwargs", BUILT, "f(a, b, C=c)", "error"),
    ("call_readonly_out", BUILT, "c.setflags(write=False); f(a, b, c)", "error"),
    ("call_alias_out_in", BUILT, "f(a, b, a)", "error_or_ok"),
    ("call_overlap_view", BUILT, "big = np.zeros(40, 'float32'); f(a, big[:20].reshape(4, 5), big[5:25].reshape(4, 5))",
     "error"),
    ("call_ndarray_wrong_dtype", BUILT, "f(tl.nd.array(a.astype('float64')), b, c)", "error"),
    ("call_ndarray_wrong_shape", BUILT, "f(tl.nd.array(np.ones((5, 4), 'float32')), b, c)", "error"),
    ("call_nd_out_ok", BUILT, "co = tl.nd.array(c); f(tl.nd.array(a), tl.nd.array(b), co); "
     "assert (co.numpy() == 2).all(), co.numpy()", "ok"),
    ("call_matrix", BUILT, "f(np.asmatrix(a), b, c)", "error_or_ok"),
    ("call_masked", BUILT, "f(np.ma.masked_array(a), b, c)", "error_or_ok"),
    ("call_memoryview", BUILT, "f(memoryview(a), b, c)", "error_or_ok"),
    ("sym_mismatch", SYM, "f(a, np.ones((4, 6), 'float32'), c)", "error"),
    ("sym_mismatch_out", SYM, "f(a, b, np.zeros((3, 5), 'float32'))", "error"),
    ("sym_zero", SYM, "z = np.zeros((0, 5), 'float32'); f(z, z.copy(), z.copy())", "error_or_ok"),
    ("sym_ndim", SYM, "f(a.reshape(20), b.reshape(20), c.reshape(20))", "error"),
    ("sym_noncontig", SYM, "f(np.ones((4, 10), 'float32')[:, ::2], b, c)", "error_or_ok"),
    ("scalar_str", SCALAR.replace("XDT", "int32"), "f(a, 'x', c)", "error"),
    ("scalar_none", SCALAR.replace("XDT", "int32"), "f(a, None, c)", "error"),
    ("scalar_float_for_int", SCALAR.replace("XDT", "int32"), "f(a, 1.5, c)", "error"),
    ("scalar_big_int", SCALAR.replace("XDT", "int32"), "f(a, 2**40, c)", "error"),
    ("scalar_huge_int", SCALAR.replace("XDT", "int64"), "f(a, 2**70, c)", "error"),
    ("scalar_neg_uint", SCALAR.replace("XDT", "uint8"), "f(a, -1, c)", "error"),
    ("scalar_array", SCALAR.replace("XDT", "float32"), "f(a, np.ones(3), c)", "error"),
    ("scalar_nan_int", SCALAR.replace("XDT", "int32"), "f(a, float('nan'), c)", "error"),
    ("scalar_inf_f32", SCALAR.replace("XDT", "float32"), "f(a, float('inf'), c); assert np.isinf(c).all()",
     "error_or_ok"),
    ("scalar_big_f16", SCALAR.replace("XDT", "float16"), "f(a, 1e6, c)", "error_or_ok"),
    ("scalar_bool_for_int", SCALAR.replace("XDT", "int32"), "f(a, True, c)", "error_or_ok"),
    ("scalar_np_int8_overflow", SCALAR.replace("XDT", "int8"), "f(a, np.int64(300), c)", "error"),
    ("scalar_complex", SCALAR.replace("XDT", "float32"), "f(a, 1j, c)", "error"),
]

TOPI = [
    ("topi_sum_axis_big", "topi.sum(A, axis=5)"),
    ("topi_sum_axis_neg", "topi.sum(A, axis=-3)"),
    ("topi_sum_axis_dup", "topi.sum(A, axis=(0, 0))"),
    ("topi_sum_axis_dup_neg", "topi.sum(A, axis=(1, -1))"),
    ("topi_sum_axis_str", "topi.sum(A, axis='x')"),
    ("topi_sum_axis_float", "topi.sum(A, axis=1.5)"),
    ("topi_max_axis_big", "topi.max(A, axis=2)"),
    ("topi_argmax_multi", "topi.argmax(A, axis=(0, 1))"),
    ("topi_argmax_axis_big", "topi.argmax(A, axis=7)"),
    ("topi_transpose_dup", "topi.transpose(A, [0, 0])"),
    ("topi_transpose_short", "topi.transpose(A, [0])"),
    ("topi_transpose_long", "topi.transpose(A, [0, 1, 2])"),
    ("topi_transpose_oob", "topi.transpose(A, [0, 5])"),
    ("topi_reshape_size", "topi.reshape(A, [7, 3])"),
    ("topi_reshape_two_neg", "topi.reshape(A, [-1, -1])"),
    ("topi_reshape_zero_neg", "topi.reshape(A, [0, -1])"),
    ("topi_reshape_neg2", "topi.reshape(A, [-2, 6])"),
    ("topi_reshape_str", "topi.reshape(A, ['a', 2])"),
    ("topi_reshape_float", "topi.reshape(A, [2.5, 4.8])"),
    ("topi_concat_empty", "topi.concatenate([])"),
    ("topi_concat_shape", "topi.concatenate([A, te.placeholder((2, 5), name='Z')], 0)"),
    ("topi_concat_ndim", "topi.concatenate([A, te.placeholder((3,), name='Z')], 0)"),
    ("topi_concat_axis", "topi.concatenate([A, B], 2)"),
    ("topi_split_nondiv", "topi.split(A, 3, 1)"),
    ("topi_split_zero", "topi.split(A, 0, 1)"),
    ("topi_split_neg", "topi.split(A, -2, 1)"),
    ("topi_split_unsorted", "topi.split(A, [3, 1], 1)"),
    ("topi_split_beyond", "topi.split(A, [6], 1)"),
    ("topi_split_axis", "topi.split(A, 2, 3)"),
    ("topi_take_float_idx", "topi.take(A, F)"),
    ("topi_take_mode", "topi.take(A, I, mode='nope')"),
    ("topi_take_axis", "topi.take(A, I, axis=4)"),
    ("topi_sslice_step0", "topi.strided_slice(A, [0], [2], [0])"),
    ("topi_sslice_long", "topi.strided_slice(A, [0, 0, 0], [1, 1, 1])"),
    ("topi_sslice_str", "topi.strided_slice(A, ['a'], [2])"),
    ("topi_where_shape", "topi.where(I, A, B)"),
    ("topi_where_none", "topi.where(1, 2, 3)"),
    ("topi_clip_float_on_int", "topi.clip(A8, 0.5, 2.5)"),
    ("topi_clip_big_on_int8", "topi.clip(A8, -1000, 1000)"),
    ("topi_clip_none", "topi.clip(A, None, 1.0)"),
    ("topi_cast_bad", "topi.cast(A, 'float8')"),
    ("topi_cast_none", "topi.cast(A, None)"),
    ("topi_cast_complex", "topi.cast(A, 'complex64')"),
    ("topi_softmax_axis", "topi.nn.softmax(A, axis=3)"),
    ("topi_log_softmax_axis", "topi.nn.log_softmax(A, axis=-3)"),
    ("topi_dense_mismatch", "topi.nn.dense(A, te.placeholder((5, 6), name='W'))"),
    ("topi_dense_3d", "topi.nn.dense(te.placeholder((2, 3, 4), name='X'), A)"),
    ("topi_nnmatmul_mismatch", "topi.nn.matmul(A, te.placeholder((5, 6), name='W'))"),
    ("topi_nnmatmul_mismatch_t", "topi.nn.matmul(A, te.placeholder((6, 5), name='W'), transpose_b=True)"),
    ("topi_nnmatmul_3d", "topi.nn.matmul(te.placeholder((2, 3, 4), name='X'), A)"),
    ("topi_matmul_mismatch", "topi.matmul(A, te.placeholder((5, 6), name='W'))"),
    ("topi_matmul_3d", "topi.matmul(te.placeholder((2, 3, 4), name='X'), A)"),
    ("topi_bmm_batch", "topi.nn.batch_matmul(te.placeholder((2, 3, 4), name='X'), "
                       "te.placeholder((3, 5, 4), name='Y'))"),
    ("topi_bmm_k", "topi.nn.batch_matmul(te.placeholder((2, 3, 4), name='X'), te.placeholder((2, 5, 6), name='Y'))"),
    ("topi_bmm_2d", "topi.nn.batch_matmul(A, B)"),
    ("topi_cumsum_axis", "topi.cumsum(A, axis=5)"),
    ("topi_cumsum_bool", "topi.cumsum(A, axis=0, dtype='bool')"),
    ("topi_cumsum_notensor", "topi.cumsum(np.ones(3), axis=0)"),
    ("topi_repeat_zero", "topi.repeat(A, 0, 0)"),
    ("topi_repeat_neg", "topi.repeat(A, -1, 0)"),
    ("topi_repeat_axis", "topi.repeat(A, 2, 5)"),
    ("topi_tile_zero", "topi.tile(A, [0])"),
    ("topi_tile_neg", "topi.tile(A, [-1, 2])"),
    ("topi_expand_dims_axis", "topi.expand_dims(A, 10)"),
    ("topi_squeeze_notone", "topi.squeeze(A, 0)"),
    ("topi_squeeze_axis", "topi.squeeze(A, 4)"),
    ("topi_one_hot_depth0", "topi.one_hot(I, 1.0, 0.0, 0, -1, 'float32')"),
    ("topi_one_hot_depthneg", "topi.one_hot(I, 1.0, 0.0, -2, -1, 'float32')"),
    ("topi_one_hot_axis", "topi.one_hot(I, 1.0, 0.0, 3, 5, 'float32')"),
    ("topi_gather_shape", "topi.gather(A, 1, te.placeholder((3, 4, 1), dtype='int32', name='G'))"),
    ("topi_gather_float", "topi.gather(A, 1, A)"),
    ("topi_add_nobcast", "topi.add(A, te.placeholder((3, 5), name='Z'))"),
    ("topi_add_str", "topi.add(A, 'x')"),
    ("topi_add_none", "topi.add(A, None)"),
    ("topi_add_list", "topi.add(A, [1, 2])"),
    ("topi_add_uint64_int", "topi.add(te.placeholder((3,), 'uint64', name='U'), "
                            "te.placeholder((3,), 'int8', name='V'))"),
    ("topi_shift_float", "topi.left_shift(A, 2)"),
    ("topi_bitwise_float", "topi.bitwise_and(A, B)"),
    ("topi_stack_shape", "topi.stack([A, te.placeholder((4, 3), name='Z')])"),
    ("topi_stack_axis", "topi.stack([A, B], 4)"),
    ("topi_flip_axis", "topi.flip(A, 3)"),
    ("topi_full_bad_dtype", "topi.full((3,), 'float8', 1.0)"),
    ("topi_full_str_value", "topi.full((3,), 'float32', 'x')"),
    ("topi_divide_bool", "topi.divide(te.placeholder((3,), 'bool', name='Q'), "
                         "te.placeholder((3,), 'bool', name='Q2'))"),
    ("topi_pool_bad", "topi.nn.pool2d(A, (2, 2), (1, 1), (1, 1), (0, 0, 0, 0), 'max')"),
    ("topi_conv_bad", "topi.nn.conv2d_nchw(A, B, 1, 0, 1)"),
    ("topi_einsum_bad", "topi.einsum('ij,jk->ik', A, B)"),
    ("topi_einsum_syntax", "topi.einsum('ij,,->', A, B)"),
    ("topi_layout_bad", "topi.layout_transform(A, 'NC', 'NCHW')"),
    ("topi_trilu_1d", "topi.trilu(I, 0, True)"),
    ("topi_sort_axis", "topi.sort(A, axis=4)"),
    ("topi_topk_bad", "topi.topk(A, k=2, axis=5)"),
    ("topi_arange_zero_step", "topi.arange(0, 10, 0)"),
    ("topi_scatter_mismatch", "topi.scatter_elements(A, I, F, 0)"),
    ("topi_reshape_int", "topi.reshape(A, 12)"),
    ("topi_transpose_str", "topi.transpose(A, 'ab')"),
    ("topi_concat_nontensor", "topi.concatenate([A, 3])"),
    ("topi_split_float_sections", "topi.split(A, 2.0, 1)"),
    ("topi_split_float_index", "topi.split(A, [1.5], 1)"),
    ("topi_max_axis_float_list", "topi.max(A, axis=[0.5])"),
    ("topi_dense_bias_shape", "topi.nn.dense(A, B, bias=te.placeholder((7,), name='bias'))"),
    ("topi_nnmatmul_bias_shape", "topi.nn.matmul(A, te.placeholder((4, 2), name='W'), "
                                 "bias=te.placeholder((5,), name='bias'))"),
    ("topi_sslice_axes_oob", "topi.strided_slice(A, [0], [2], [1], axes=[5])"),
    ("topi_take_batch_dims", "topi.take(A, I, axis=1, batch_dims=5)"),
    ("topi_softmax_int", "topi.nn.softmax(A8)"),
    ("topi_full_neg_shape", "topi.full((-1,), 'float32', 1.0)"),
]

# split indices follow numpy.split (unsorted or past the end give empty sections) since tensorlang 41d23a3
TOPI_EITHER = {"topi_split_unsorted", "topi_split_beyond"}

TE = [
    ("te_ph_dtype_float8", "", "te.placeholder((3,), dtype='float8')"),
    ("te_ph_dtype_int3", "", "te.placeholder((3,), dtype='int3')"),
    ("te_ph_dtype_int", "", "te.placeholder((3,), dtype=5)"),
    ("te_ph_dtype_complex", "", "te.placeholder((3,), dtype=np.complex64)"),
    ("te_ph_dtype_none", "", "te.placeholder((3,), dtype=None)"),
    ("te_ph_shape_neg", "", "te.placeholder((-1,))"),
    ("te_ph_shape_float", "", "te.placeholder((3.5,))"),
    ("te_ph_shape_str", "", "te.placeholder(('a',))"),
    ("te_ph_shape_none", "", "te.placeholder(None)"),
    ("te_ph_shape_int", "", "te.placeholder(5)"),
    ("te_ph_shape_nested", "", "te.placeholder(((3,),))"),
    ("te_compute_arity", T2, "te.compute((3, 4), lambda i: A[i, 0])"),
    ("te_compute_arity_more", T2, "te.compute((3,), lambda i, j: A[i, j])"),
    ("te_compute_none", T2, "te.compute((3,), lambda i: None)"),
    ("te_compute_str", T2, "te.compute((3,), lambda i: 'x')"),
    ("te_compute_tensor", T2, "te.compute((3,), lambda i: A)"),
    ("te_compute_list", T2, "te.compute((3,), lambda i: [1, 2, 3])"),
    ("te_compute_neg_shape", T2, "te.compute((-3,), lambda i: A[0, 0])"),
    ("te_compute_shape_float", T2, "te.compute((2.5,), lambda i: A[0, 0])"),
    ("te_compute_notcallable", T2, "te.compute((3,), 5)"),
    ("te_index_count", T2, "te.compute((3,), lambda i: A[i])"),
    ("te_index_count_more", T2, "te.compute((3,), lambda i: A[i, 0, 0])"),
    ("te_index_float", T2, "te.compute((3,), lambda i: A[1.5, 0])"),
    ("te_index_str", T2, "te.compute((3,), lambda i: A['a', 0])"),
    ("te_index_floatexpr", T2, "te.compute((3,), lambda i: A[i.astype('float32'), 0])"),
    ("te_index_bool", T2, "te.compute((3,), lambda i: A[i > 1, 0])"),
    ("te_read_oob_const", T2, "C = te.compute((3,), lambda i: A[5, 0]); s = te.create_schedule(C.op); "
     "tl.build(s, [A, C])"),
    ("te_read_oob_neg", T2, "C = te.compute((3,), lambda i: A[i - 1, 0]); s = te.create_schedule(C.op); "
     "tl.build(s, [A, C])"),
    ("te_read_oob_data", T2, "C = te.compute((2,), lambda j: A[I[j], 0]); s = te.create_schedule(C.op); "
     "f = tl.build(s, [A, I, C]); f(np.ones((3, 4), 'float32'), np.array([0, 7], 'int32'), np.zeros(2, 'float32'))"),
    ("te_read_oob_data_neg", T2, "C = te.compute((2,), lambda j: A[I[j], 0]); s = te.create_schedule(C.op); "
     "f = tl.build(s, [A, I, C]); f(np.ones((3, 4), 'float32'), np.array([0, -1], 'int32'), np.zeros(2, 'float32'))"),
    ("te_raxis_empty_max", T2, "k = te.reduce_axis((0, 0)); C = te.compute((3,), lambda i: te.max(A[i, k], axis=k)); "
     "tl.build(te.create_schedule(C.op), [A, C])"),
    ("te_raxis_reversed", T2, "k = te.reduce_axis((3, 1)); C = te.compute((3,), lambda i: te.sum(A[i, k], axis=k)); "
     "tl.build(te.create_schedule(C.op), [A, C])"),
    ("te_raxis_str", T2, "te.reduce_axis((0, 'a'))"),
    ("te_raxis_float", T2, "te.reduce_axis((0, 2.5))"),
    ("te_raxis_one", T2, "te.reduce_axis(3)"),
    ("te_sum_noaxis", T2, "te.compute((3,), lambda i: te.sum(A[i, 0]))"),
    ("te_sum_spatial_axis", T2, "te.compute((3,), lambda i: te.sum(A[i, 0], axis=i))"),
    ("te_sum_axis_int", T2, "te.compute((3,), lambda i: te.sum(A[i, 0], axis=3))"),
    ("te_sum_nested", T2, "k = te.reduce_axis((0, 4)); k2 = te.reduce_axis((0, 4)); "
     "C = te.compute((3,), lambda i: te.sum(A[i, k] + te.sum(A[i, k2], axis=k2), axis=k)); "
     "tl.build(te.create_schedule(C.op), [A, C])"),
    ("te_sum_raxis_not_used", T2, "k = te.reduce_axis((0, 4)); "
     "C = te.compute((3,), lambda i: te.sum(A[i, 0], axis=k)); "
     "f = tl.build(te.create_schedule(C.op), [A, C]); c = np.zeros(3, 'float32'); "
     "f(np.ones((3, 4), 'float32'), c); assert (c == 4).all(), c"),
    ("te_reduce_in_expr", T2, "k = te.reduce_axis((0, 4)); "
     "C = te.compute((3,), lambda i: te.sum(A[i, k], axis=k) * 2); "
     "tl.build(te.create_schedule(C.op), [A, C])"),
    ("te_ite_float_cond", T2, "te.compute((3,), lambda i: te.if_then_else(A[i, 0], 1.0, 2.0))"),
    ("te_ite_str", T2, "te.compute((3,), lambda i: te.if_then_else(A[i, 0] > 0, 'a', 2.0))"),
    ("te_exp_int", T2, "te.compute((3,), lambda i: te.exp(A8[i, 0]))"),
    ("te_popcount_float", T2, "te.compute((3,), lambda i: te.popcount(A[i, 0]))"),
    ("te_shift_float", T2, "te.compute((3,), lambda i: A[i, 0] << 2)"),
    ("te_and_float", T2, "te.compute((3,), lambda i: A[i, 0] & A[i, 1])"),
    ("te_invert_float", T2, "te.compute((3,), lambda i: ~A[i, 0])"),
    ("te_const_int8_300", "", "te.const(300, 'int8')"),
    ("te_const_str", "", "te.const('a')"),
    ("te_const_f32_big", "", "te.const(1e40, 'float32')"),
    ("te_const_nan_int", "", "te.const(float('nan'), 'int32')"),
    ("te_const_inf_int", "", "te.const(float('inf'), 'int32')"),
    ("te_const_2_64", "", "te.const(2**64)"),
    ("te_const_neg_uint", "", "te.const(-1, 'uint8')"),
    ("te_const_none", "", "te.const(None)"),
    ("te_const_list", "", "te.const([1, 2])"),
    ("te_const_complex", "", "te.const(1j)"),
    ("te_var_dtype", "", "te.var('n', dtype='float8')"),
    ("te_uint64_int", T2, "te.compute((3,), lambda i: A8[i, 0] + te.const(1, 'uint64'))"),
    ("te_bool_expr", T2, "te.compute((3,), lambda i: A[i, 0] if A[i, 0] > 0 else 0.0)"),
    ("te_expr_plus_str", T2, "te.compute((3,), lambda i: A[i, 0] + 'x')"),
    ("te_expr_plus_none", T2, "te.compute((3,), lambda i: A[i, 0] + None)"),
    ("te_expr_plus_list", T2, "te.compute((3,), lambda i: A[i, 0] + [1])"),
    ("te_expr_plus_nparray", T2, "te.compute((3,), lambda i: A[i, 0] + np.ones(3))"),
    ("te_div_const_zero", T2, "te.compute((3,), lambda i: A8[i, 0] // 0)"),
    ("te_comm_reducer_bad", T2, "r = te.comm_reducer(lambda x: x, lambda t: te.const(0, t)); "
     "k = te.reduce_axis((0, 4)); "
     "te.compute((3,), lambda i: r(A[i, k], axis=k))"),
    ("te_comm_reducer_notcallable", T2, "te.comm_reducer(3, 4)"),
    ("te_comm_reducer_identity_str", T2, "r = te.comm_reducer(lambda x, y: x + y, lambda t: 'zero'); "
     "k = te.reduce_axis((0, 4)); te.compute((3,), lambda i: r(A[i, k], axis=k))"),
    ("te_comm_reducer_mismatch", T2, "r = te.comm_reducer(lambda x, y: (x[0] + y[0],), lambda a, b: (a, b)); "
     "k = te.reduce_axis((0, 4)); te.compute((3,), lambda i: r((A[i, k], A[i, k]), axis=k))"),
    ("te_cast_bad", T2, "te.compute((3,), lambda i: A[i, 0].astype('float8'))"),
    ("te_scan_bad", T2, "te.scan(A, A, A)"),
]

SCHED_SETUP = """A = te.placeholder((6, 8), dtype='float32', name='A')
P = te.compute((6, 8), lambda i, j: A[i, j] * 2, name='P')
k = te.reduce_axis((0, 8), name='k')
C = te.compute((6,), lambda i: te.sum(P[i, k], axis=k), name='C')
D = te.compute((6, 8), lambda i, j: A[i, j] + 1, name='D')
s = te.create_schedule([C.op, D.op])
"""
SCHED = [
    ("sched_split_zero", "s[D].split(D.op.axis[0], factor=0)"),
    ("sched_split_neg", "s[D].split(D.op.axis[0], factor=-2)"),
    ("sched_split_float", "s[D].split(D.op.axis[0], factor=1.5)"),
    ("sched_split_none", "s[D].split(D.op.axis[0])"),
    ("sched_split_both", "s[D].split(D.op.axis[0], factor=2, nparts=3)"),
    ("sched_split_nparts0", "s[D].split(D.op.axis[0], nparts=0)"),
    ("sched_split_other_stage", "s[D].split(C.op.axis[0], factor=2)"),
    ("sched_split_str", "s[D].split(D.op.axis[0], factor='2')"),
    ("sched_split_twice", "s[D].split(D.op.axis[0], factor=2); s[D].split(D.op.axis[0], factor=2)"),
    ("sched_reorder_dup", "s[D].reorder(D.op.axis[1], D.op.axis[1])"),
    ("sched_reorder_other", "s[D].reorder(C.op.axis[0], D.op.axis[0])"),
    ("sched_reorder_int", "s[D].reorder(1, 0)"),
    ("sched_fuse_nonadj", "xo, xi = s[D].split(D.op.axis[1], factor=2); s[D].fuse(D.op.axis[0], xi)"),
    ("sched_fuse_other", "s[D].fuse(D.op.axis[0], C.op.axis[0])"),
    ("sched_fuse_reversed", "s[D].fuse(D.op.axis[1], D.op.axis[0])"),
    ("sched_fuse_red_spatial", "s[C].fuse(C.op.axis[0], C.op.reduce_axis[0]); tl.build(s, [A, C, D])"),
    ("sched_vectorize_reduce", "s[C].vectorize(C.op.reduce_axis[0]); tl.build(s, [A, C, D])"),
    ("sched_parallel_reduce", "s[C].parallel(C.op.reduce_axis[0]); tl.build(s, [A, C, D])"),
    ("sched_vectorize_other", "s[D].vectorize(C.op.axis[0])"),
    ("sched_vectorize_outer", "s[D].vectorize(D.op.axis[0]); f = tl.build(s, [A, C, D]); "
     "d = np.zeros((6, 8), 'float32'); f(np.ones((6, 8), 'float32'), np.zeros(6, 'float32'), d); "
     "assert (d == 2).all()"),
    ("sched_vectorize_twice", "s[D].vectorize(D.op.axis[1]); s[D].vectorize(D.op.axis[0]); tl.build(s, [A, C, D])"),
    ("sched_parallel_nested", "s[D].parallel(D.op.axis[0]); s[D].parallel(D.op.axis[1]); f = tl.build(s, [A, C, D]); "
     "d = np.zeros((6, 8), 'float32'); f(np.ones((6, 8), 'float32'), np.zeros(6, 'float32'), d); "
     "assert (d == 2).all()"),
    ("sched_compute_at_self", "s[D].compute_at(s[D], D.op.axis[0])"),
    ("sched_compute_at_nonconsumer", "s[P].compute_at(s[D], D.op.axis[0]); tl.build(s, [A, C, D])"),
    ("sched_compute_at_wrong_axis", "s[P].compute_at(s[C], D.op.axis[0])"),
    ("sched_compute_at_output", "s[D].compute_at(s[C], C.op.axis[0]); tl.build(s, [A, C, D])"),
    ("sched_inline_output", "s[D].compute_inline(); tl.build(s, [A, C, D])"),
    ("sched_inline_reduce", "s[C].compute_inline(); tl.build(s, [A, C, D])"),
    ("sched_inline_placeholder", "s[A].compute_inline()"),
    ("sched_inline_then_at", "s[P].compute_inline(); s[P].compute_at(s[C], C.op.axis[0]); tl.build(s, [A, C, D])"),
    ("sched_cache_read_bad_scope", "s.cache_read(A, 'nowhere', [P]); tl.build(s, [A, C, D])"),
    ("sched_cache_read_nonreader", "s.cache_read(A, 'local', [C]); tl.build(s, [A, C, D])"),
    ("sched_cache_read_empty", "s.cache_read(A, 'local', []); tl.build(s, [A, C, D])"),
    ("sched_cache_write_placeholder", "s.cache_write(A, 'local')"),
    ("sched_cache_write_after_split", "s[D].split(D.op.axis[0], factor=4); s.cache_write(D, 'local'); "
     "f = tl.build(s, [A, C, D]); d = np.zeros((6, 8), 'float32'); "
     "f(np.ones((6, 8), 'float32'), np.zeros(6, 'float32'), d); "
     "assert (d == 2).all()"),
    ("sched_rfactor_spatial", "s.rfactor(C, C.op.axis[0])"),
    ("sched_rfactor_other", "s.rfactor(C, D.op.axis[0])"),
    ("sched_stage_missing", "s[te.placeholder((3,), name='Q')].split(0, 2)"),
    ("sched_getitem_str", "s['D']"),
    ("sched_unroll_other", "s[D].unroll(C.op.reduce_axis[0])"),
    ("sched_tile_bad", "s[D].tile(D.op.axis[0], D.op.axis[1], 0, 2)"),
    ("sched_pragma_bad", "s[D].pragma(D.op.axis[0], 'nosuch'); tl.build(s, [A, C, D])"),
    ("sched_bind_cpu", "s[D].bind(D.op.axis[0], te.thread_axis('threadIdx.x')); tl.build(s, [A, C, D], target='llvm')"),
    ("build_missing_input", "tl.build(s, [C, D])"),
    ("build_missing_output", "tl.build(s, [A, C])"),
    ("build_dup_args", "tl.build(s, [A, A, C, D])"),
    ("build_non_tensor", "tl.build(s, [A, 3, C, D])"),
    ("build_target_bad", "tl.build(s, [A, C, D], target='foo')"),
    ("build_target_mcpu", "tl.build(s, [A, C, D], target='llvm -mcpu=bogus')"),
    ("build_target_option", "tl.build(s, [A, C, D], target='llvm -nosuch=1')"),
    ("build_target_int", "tl.build(s, [A, C, D], target=5)"),
    ("build_name_int", "tl.build(s, [A, C, D], name=5)"),
    ("build_args_none", "tl.build(s, None)"),
    ("build_not_schedule", "tl.build(C, [A, C])"),
    ("build_intermediate_arg", "f = tl.build(s, [A, P, C, D]); p = np.zeros((6, 8), 'float32'); "
     "f(np.ones((6, 8), 'float32'), p, np.zeros(6, 'float32'), np.zeros((6, 8), 'float32'))"),
    ("lower_bad", "tl.lower(s, [A, 'x'])"),
]


def gen_bad(rng, seed):
    group = str(rng.choice(["call", "topi", "te", "sched"], p=[0.3, 0.3, 0.25, 0.15]))
    if group == "call":
        name, setup, bad, mode = CALL[rng.integers(0, len(CALL))]
    elif group == "topi":
        name, bad = TOPI[rng.integers(0, len(TOPI))]
        setup, mode = T2, "error_or_ok" if name in TOPI_EITHER else "error"
        bad = f"C = {bad}\nif isinstance(C, te.Tensor):\n    tl.build(te.create_schedule(C.op), " \
              f"_uniq(_inputs(C)) + [C])"
        setup = setup + _INPUTS
    elif group == "te":
        name, setup, bad = TE[rng.integers(0, len(TE))]
        mode = "error"
        # te_exp_int: te.exp of an int8 computes in float16, as numpy's np.exp does (58bbcd6).
        if name in ("te_sum_raxis_not_used", "te_reduce_in_expr", "te_exp_int"):
            mode = "error_or_ok"
    else:
        name, bad = SCHED[rng.integers(0, len(SCHED))]
        setup = SCHED_SETUP
        mode = "error"
        # sched_compute_at_output: D attached in C's loop is recomputed whole in each iteration,
        # as TVM's bound inference does; right values, only slower.
        if name in ("sched_vectorize_outer", "sched_parallel_nested", "sched_cache_write_after_split",
                    "sched_fuse_reversed", "sched_pragma_bad", "sched_compute_at_output"):
            mode = "error_or_ok"
    if mode == "ok":
        src = HEAD + setup + bad + "\n"
    elif mode == "error":
        src = HEAD + setup + f"EXPECT_ERROR = {name!r}\n" + bad + "\n"
    else:
        src = HEAD + setup + "_EXPECTING = True\n" + bad + "\n"
    return src, {"scenario": name, "mode": mode}


_INPUTS = """def _uniq(ts):
    out = []
    for t in ts:
        if not any(t is u for u in out):
            out.append(t)
    return out
def _inputs(T, seen=None):
    out = []
    for t in T.op.input_tensors:
        if isinstance(t.op, te.PlaceholderOp):
            out.append(t)
        else:
            out += _inputs(t)
    return out
"""
