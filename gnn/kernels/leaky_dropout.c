/* LeakyReLU followed by dropout, forward and backward, each in one pass over memory.
 *
 *   forward:   y_i  = keep_i ? scale * leaky(x_i) : 0          leaky(v) = v > 0 ? v : slope * v
 *   backward:  gx_i = keep_i ? scale * g_i * (y_i > 0 ? 1 : slope) : 0
 *
 * keep_i is a counter-based random number: element i reads 16 bits of splitmix64(seed + i / 4),
 * bits 16·(i mod 4) and up, and is kept when they are below `threshold` (= round((1 − p)·2¹⁶);
 * 65536 keeps everything and skips the hashing). The backward pass recomputes the same bits from
 * the seed, so no mask is stored; the sign of y is the sign of x for every kept element (scale,
 * slope > 0), so y, which the next layer saves anyway, stands in for x.
 *
 * Types: float32 (`_f32`) and bfloat16 (`_bf16`, raw uint16; computed in float32 and rounded to
 * nearest even). Parallel over `threads` OpenMP threads (the runtime torch already loaded).
 * Built and loaded by gnn/leaky_dropout.py.
 */
#include <stdint.h>
#include <string.h>

static inline uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline float load_f32(const float *p, int64_t i) { return p[i]; }
static inline void store_f32(float *p, int64_t i, float v) { p[i] = v; }
static inline float load_bf16(const uint16_t *p, int64_t i) {
    uint32_t u = (uint32_t)p[i] << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static inline void store_bf16(uint16_t *p, int64_t i, float v) {
    uint32_t u;
    memcpy(&u, &v, 4);
    u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest even */
    p[i] = (uint16_t)(u >> 16);
}

#define BLOCK 64 /* elements per block: 16 hashes of 4 × 16 bits */

/* The keep factors of block b: scale where its 16-bit chunks are below threshold, else 0. */
static inline void block_factors(float *factor, int64_t b, uint32_t threshold, float scale,
                                 uint64_t seed) {
    uint64_t words[BLOCK / 4];
    for (int w = 0; w < BLOCK / 4; ++w) words[w] = splitmix64(seed + (uint64_t)b * (BLOCK / 4) + w);
    uint16_t chunks[BLOCK]; /* chunk j = bits 16·(j mod 4) of word j / 4 (little endian) */
    memcpy(chunks, words, sizeof chunks);
    for (int j = 0; j < BLOCK; ++j) factor[j] = chunks[j] < threshold ? scale : 0.f;
}

/* One kernel pair per element type T with its load/store. (The no-dropout branch stays in each
 * loop body: folded into block_factors, GCC vectorised the backward loop worse, 1.6 → 3.7 ms on
 * [115200, 192] bf16.) */
#define KERNELS(SUFFIX, T)                                                                        \
    void leaky_dropout_forward_##SUFFIX(const T *x, T *y, int64_t n, float slope,                \
                                         uint32_t threshold, float scale, uint64_t seed,        \
                                         int threads) {                                          \
        int64_t blocks = (n + BLOCK - 1) / BLOCK;                                                \
        int dropout = threshold < 65536u;                                                         \
        _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
        for (int64_t b = 0; b < blocks; ++b) {                                                   \
            float factor[BLOCK];                                                                  \
            if (dropout) block_factors(factor, b, threshold, scale, seed);                        \
            else for (int j = 0; j < BLOCK; ++j) factor[j] = scale;                              \
            const T *xb = x + b * BLOCK;                                                          \
            T *yb = y + b * BLOCK;                                                                \
            int64_t len = n - b * BLOCK < BLOCK ? n - b * BLOCK : BLOCK;                          \
            _Pragma("omp simd")                                                                   \
            for (int64_t j = 0; j < len; ++j) {                                                  \
                float v = load_##SUFFIX(xb, j);                                                   \
                store_##SUFFIX(yb, j, (v > 0.f ? v : v * slope) * factor[j]);                    \
            }                                                                                     \
        }                                                                                         \
    }                                                                                             \
    void leaky_dropout_backward_##SUFFIX(const T *g, const T *y, T *gx, int64_t n, float slope,  \
                                          uint32_t threshold, float scale, uint64_t seed,       \
                                          int threads) {                                         \
        int64_t blocks = (n + BLOCK - 1) / BLOCK;                                                \
        int dropout = threshold < 65536u;                                                         \
        _Pragma("omp parallel for num_threads(threads) schedule(static)")                        \
        for (int64_t b = 0; b < blocks; ++b) {                                                   \
            float factor[BLOCK];                                                                  \
            if (dropout) block_factors(factor, b, threshold, scale, seed);                        \
            else for (int j = 0; j < BLOCK; ++j) factor[j] = scale;                              \
            const T *gb = g + b * BLOCK, *yb = y + b * BLOCK;                                     \
            T *ob = gx + b * BLOCK;                                                               \
            int64_t len = n - b * BLOCK < BLOCK ? n - b * BLOCK : BLOCK;                          \
            _Pragma("omp simd")                                                                   \
            for (int64_t j = 0; j < len; ++j) {                                                  \
                float d = load_##SUFFIX(yb, j) > 0.f ? 1.f : slope;                               \
                store_##SUFFIX(ob, j, load_##SUFFIX(gb, j) * d * factor[j]);                      \
            }                                                                                     \
        }                                                                                         \
    }

KERNELS(f32, float)
KERNELS(bf16, uint16_t)
