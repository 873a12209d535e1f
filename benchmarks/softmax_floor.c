/* A hand-written vectorized row softmax in C (AVX-512, or AVX2 with FMA): the reference that
 * benchmarks/softmax_floor.py measures beside tensorlang's tuned softmax, to tell how much of a 4096x4096 softmax's time is
 * arithmetic and how much is memory on the machine at hand.
 *
 *   softmax_rows(x, y, rows, cols, threads): y = exp(x - max) / sum, per row, as numpy computes
 *     it (an exact division, not a multiply by the reciprocal); exponentials computed once into
 *     a row buffer, output rows written with streaming stores.
 *   softmax_in_cache(x, y, rows, cols, reps, threads): the same arithmetic over a block of rows
 *     small enough to stay in the core's caches, `reps` times, ordinary stores: the time of the
 *     arithmetic alone (no DRAM traffic), the least any schedule of that arithmetic can take.
 *
 * cols must be a multiple of 64 and at most 8192; x and y 64-byte aligned.  Compiled by the
 * driver with `cc -O3 -march=native -fopenmp -shared -fPIC`.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>

/* The vector width this CPU has: 16 lanes with AVX-512, else 8 with AVX2 and FMA.  The kernel is
 * written once against these few operations. */
#if defined(__AVX512F__)
#define W 16
typedef __m512 vec;
#define vset1 _mm512_set1_ps
#define vload _mm512_load_ps
#define vstore _mm512_store_ps
#define vstream _mm512_stream_ps
#define vmax _mm512_max_ps
#define vmin _mm512_min_ps
#define vadd _mm512_add_ps
#define vsub _mm512_sub_ps
#define vmul _mm512_mul_ps
#define vdiv _mm512_div_ps
#define vfmadd _mm512_fmadd_ps
#define vfnmadd _mm512_fnmadd_ps
#define vzero _mm512_setzero_ps
#define vround(x) _mm512_roundscale_ps((x), 0)
#define vscale2(p, n) _mm512_scalef_ps((p), (n))
#define vhmax _mm512_reduce_max_ps
#define vhadd _mm512_reduce_add_ps
#elif defined(__AVX2__) && defined(__FMA__)
#define W 8
typedef __m256 vec;
#define vset1 _mm256_set1_ps
#define vload _mm256_load_ps
#define vstore _mm256_store_ps
#define vstream _mm256_stream_ps
#define vmax _mm256_max_ps
#define vmin _mm256_min_ps
#define vadd _mm256_add_ps
#define vsub _mm256_sub_ps
#define vmul _mm256_mul_ps
#define vdiv _mm256_div_ps
#define vfmadd _mm256_fmadd_ps
#define vfnmadd _mm256_fnmadd_ps
#define vzero _mm256_setzero_ps
#define vround(x) _mm256_round_ps((x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
/* p * 2^n for integral n in [-126, 127]: build 2^n from its exponent bits. */
#define vscale2(p, n) _mm256_mul_ps((p), _mm256_castsi256_ps(_mm256_slli_epi32( \
    _mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23)))
static inline float vhmax(vec v) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
}
static inline float vhadd(vec v) {
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    return _mm_cvtss_f32(_mm_add_ss(m, _mm_shuffle_ps(m, m, 1)));
}
#else
#error "softmax_floor.c needs AVX-512, or AVX2 with FMA"
#endif

/* exp for x in [-87, 88] to within 2 ulp: 2^n * p(r), r = x - n ln2, a degree-7 polynomial. */
static inline vec vexp(vec x) {
    x = vmax(vmin(x, vset1(88.0f)), vset1(-87.0f));
    vec n = vround(vmul(x, vset1(1.44269504f)));
    vec r = vfnmadd(n, vset1(0.693359375f), x);
    r = vfnmadd(n, vset1(-2.12194440e-4f), r);
    vec p = vset1(1.9875691500e-4f);
    p = vfmadd(p, r, vset1(1.3981999507e-3f));
    p = vfmadd(p, r, vset1(8.3334519073e-3f));
    p = vfmadd(p, r, vset1(4.1665795894e-2f));
    p = vfmadd(p, r, vset1(1.6666665459e-1f));
    p = vfmadd(p, r, vset1(5.0000001201e-1f));
    p = vfmadd(p, vmul(r, r), vadd(r, vset1(1.0f)));
    return vscale2(p, n);
}

/* One row: max pass, exp-and-sum pass into `tmp`, divide pass (streaming stores or not). */
static inline void row(const float *x, float *y, float *tmp, long cols, int stream) {
    vec m0 = vset1(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    for (long j = 0; j < cols; j += 4 * W) {  /* four accumulators: a max waits on its own last */
        m0 = vmax(m0, vload(x + j));
        m1 = vmax(m1, vload(x + j + W));
        m2 = vmax(m2, vload(x + j + 2 * W));
        m3 = vmax(m3, vload(x + j + 3 * W));
    }
    vec m = vset1(vhmax(vmax(vmax(m0, m1), vmax(m2, m3))));
    vec s0 = vzero(), s1 = s0;
    for (long j = 0; j < cols; j += 2 * W) {
        vec e0 = vexp(vsub(vload(x + j), m));
        vec e1 = vexp(vsub(vload(x + j + W), m));
        vstore(tmp + j, e0);
        vstore(tmp + j + W, e1);
        s0 = vadd(s0, e0);
        s1 = vadd(s1, e1);
    }
    vec s = vset1(vhadd(vadd(s0, s1)));
    if (stream)
        for (long j = 0; j < cols; j += W) vstream(y + j, vdiv(vload(tmp + j), s));
    else
        for (long j = 0; j < cols; j += W) vstore(y + j, vdiv(vload(tmp + j), s));
}

void softmax_rows(const float *x, float *y, long rows, long cols, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (long i = 0; i < rows; i++) {
        float tmp[8192] __attribute__((aligned(64)));
        row(x + i * cols, y + i * cols, tmp, cols, 1);
    }
    _mm_sfence();
}

void softmax_in_cache(const float *x, float *y, long rows, long cols, long reps, int threads) {
#pragma omp parallel num_threads(threads)
    {
        float tmp[8192] __attribute__((aligned(64)));
        for (long r = 0; r < reps; r++) {
#pragma omp for schedule(static)
            for (long i = 0; i < rows; i++) row(x + i * cols, y + i * cols, tmp, cols, 0);
        }
    }
}
