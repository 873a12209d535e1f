/* A hand-written AVX-512 row softmax in C: the reference that benchmarks/softmax_floor.py
 * measures beside tensorlang's tuned softmax, to tell how much of a 4096x4096 softmax's time is
 * arithmetic and how much is memory on the machine at hand.
 *
 *   softmax_rows(x, y, rows, cols, threads): y = exp(x - max) / sum, per row, as numpy computes
 *     it (an exact division, not a multiply by the reciprocal); exponentials computed once into
 *     a row buffer, output rows written with streaming stores.
 *   softmax_in_cache(x, y, rows, cols, reps, threads): the same arithmetic over a block of rows
 *     small enough to stay in the core's caches, `reps` times, ordinary stores: the time of the
 *     arithmetic alone (no DRAM traffic), the least any schedule of that arithmetic can take.
 *
 * cols must be a multiple of 16 and at most 8192; x and y 64-byte aligned.  Compiled by the
 * driver with `cc -O3 -march=native -fopenmp -shared -fPIC`.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>

/* exp for x in [-87, 88] to within 2 ulp: 2^n * p(r), r = x - n ln2, a degree-7 polynomial. */
static inline __m512 exp16(__m512 x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.0f)), _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), 0);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

/* One row: max pass, exp-and-sum pass into `tmp`, divide pass (streaming stores or not). */
static inline void row(const float *x, float *y, float *tmp, long cols, int stream) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    for (long j = 0; j < cols; j += 64) {  /* four accumulators: a max waits on its own last */
        m0 = _mm512_max_ps(m0, _mm512_load_ps(x + j));
        m1 = _mm512_max_ps(m1, _mm512_load_ps(x + j + 16));
        m2 = _mm512_max_ps(m2, _mm512_load_ps(x + j + 32));
        m3 = _mm512_max_ps(m3, _mm512_load_ps(x + j + 48));
    }
    __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3))));
    __m512 s0 = _mm512_setzero_ps(), s1 = s0;
    for (long j = 0; j < cols; j += 32) {
        __m512 e0 = exp16(_mm512_sub_ps(_mm512_load_ps(x + j), m));
        __m512 e1 = exp16(_mm512_sub_ps(_mm512_load_ps(x + j + 16), m));
        _mm512_store_ps(tmp + j, e0);
        _mm512_store_ps(tmp + j + 16, e1);
        s0 = _mm512_add_ps(s0, e0);
        s1 = _mm512_add_ps(s1, e1);
    }
    __m512 s = _mm512_set1_ps(_mm512_reduce_add_ps(_mm512_add_ps(s0, s1)));
    if (stream)
        for (long j = 0; j < cols; j += 16) _mm512_stream_ps(y + j, _mm512_div_ps(_mm512_load_ps(tmp + j), s));
    else
        for (long j = 0; j < cols; j += 16) _mm512_store_ps(y + j, _mm512_div_ps(_mm512_load_ps(tmp + j), s));
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
