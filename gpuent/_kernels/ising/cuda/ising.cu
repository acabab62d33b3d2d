// gpuent Ising kernels (CUDA), the spec of gpuent/_kernels/ising/__init__.py:
//   Philox4x32-10, key (k0, k1) = (seed & 0xFFFFFFFF, seed >> 32),
//   counter (c0, c1, c2, c3) = (j >> 3, i, sweep, phase), site (i, j) takes word (j >> 1) & 3;
//   2-phase models update (i + j) % 2 == phase, 4-phase 2 (i % 2) + (j % 2) == phase;
//   accept iff word < T[index(dE)], T computed once per beta on the host.
//
// Kernels (every one serves the same lattice bit for bit; _cuda.py picks one per model):
//   ising_rows_*     int8, one launch per colour phase. A thread takes one Philox call: row
//                    i, columns [8 g, 8 g + 8) (4 sites of the phase), read as one aligned
//                    8-byte word per row plus the one column beyond it that the phase needs,
//                    and written back as one 8-byte store (fast path, W % 8 == 0).
//   ising_fused_*    int8 torus and edge models, both phases in one launch: a block copies a
//                    tile with a 2-cell halo to shared memory, recomputes the first phase on
//                    the tile and its 1-cell halo (counter-based random numbers make that
//                    free of communication), then does the second phase and writes the tile
//                    to the other buffer (ping-pong). W % 8 == 0.
//   ising_packed_*   binary torus and edge models with 1 bit per spin (32 per word, bit b of
//                    word q is column 32 q + b, 1 = spin +1), one launch per phase, the same
//                    Philox word per site as every other path. W % 32 == 0.
//   ising_sweep_cont continuous spins (float32), one launch per phase.
// Thresholds are 32-bit in shared memory: index <= acc always accepts (T == 2**32: every
// dE <= 0 and, at tiny beta, small dE > 0); otherwise accept iff word < T[index].
// Philox round keys are precomputed on the host and passed in the Params structure (kernel
// parameter space is constant memory: the keys are instruction operands).
// Observables: per-block integer partial sums, then one block sums them into a record slot;
// no division anywhere, no atomics. Compiled by NVRTC through CuPy (--fmad=false), no headers.
// Float arithmetic uses explicit round-to-nearest intrinsics (never contracted to FMA), so
// the results equal the CPU paths bit for bit.

typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long i64;
typedef signed char i8;
typedef unsigned char u8;
typedef unsigned long long usize;  // NVRTC compiles without headers: no size_t

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u
#define INT_OFFSET 8
#define CONT_OFFSET 2048
#define NTAB 19  /* integer models: indices 0..16 (dE + 8), 17 NEVER, 18 HALF */
#define FIXED_SCALE 16777216.0  /* 2**24 */

// One plan structure for every integer sweep kernel, passed by value (mirrors
// _cuda.PARAMS: 26 four-byte fields, no padding; tests/test_kernel_structs.py compares
// names, types, offsetof and sizeof).
struct Params {
    u32 k0[10];  // Philox round keys: k0 + r W0, r = 0..9
    u32 k1[10];  // k1 + r W1
    u32 acc;     // every table index <= acc accepts
    int H, W;
    u32 sweep;
    u32 phase;   // colour phase (per-phase kernels)
    int eidx;    // edge model: table index of edge pixels (NEVER or HALF)
};

enum { K_TORUS = 0, K_EDGE = 1, K_BLOCK = 2, K_SYM = 3 };

__device__ __forceinline__ void philox(u32 c[4], const Params &p)
{
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        const u32 hi0 = __umulhi(PHILOX_M0, c[0]);
        const u32 lo0 = PHILOX_M0 * c[0];
        const u32 hi1 = __umulhi(PHILOX_M1, c[2]);
        const u32 lo1 = PHILOX_M1 * c[2];
        const u32 n0 = hi1 ^ c[1] ^ p.k0[r];
        const u32 n2 = hi0 ^ c[3] ^ p.k1[r];
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

// The 4 words of counter (g, i, sweep, phase): sites 8 g + start + 2 t take word t.
__device__ __forceinline__ void words4(u32 o[4], int g, int i, u32 phase, const Params &p)
{
    o[0] = (u32)g;
    o[1] = (u32)i;
    o[2] = p.sweep;
    o[3] = phase;
    philox(o, p);
}

// the table is read unconditionally: one shared load per site, no predicated address math
__device__ __forceinline__ bool accept(u32 word, int idx, const u32 *t, u32 acc)
{
    const u32 th = t[idx];
    return ((u32)idx <= acc) | (word < th);
}

// Copy the 32-bit table to shared memory; every thread of the block must call it.
__device__ __forceinline__ void load_table(u32 *t, const u32 *__restrict__ thr)
{
    const int k = (int)(threadIdx.y * blockDim.x + threadIdx.x);
    if (k < NTAB) t[k] = thr[k];
    __syncthreads();
}

// x mod n: one conditional step for x within n of [0, n) (every lattice at least a tile
// high and wide), the division only on smaller lattices
__device__ __forceinline__ int wrap(int x, int n)
{
    x = x < 0 ? x + n : (x >= n ? x - n : x);
    if ((unsigned)x >= (unsigned)n) {
        x %= n;
        if (x < 0) x += n;
    }
    return x;
}

// ---- per-site table index of each integer model (the same formulas on every variant) ----
__device__ __forceinline__ int idx_torus(int s, int u, int d, int l, int r)
{
    return 2 * s * (u + d + l + r) + INT_OFFSET;
}

__device__ __forceinline__ int idx_edge(int s, int w, int u, int wu, int d, int wd, int l,
                                        int wl, int r, int wr, int eidx)
{
    return w == 1 ? 2 * s * (wu * u + wd * d + wl * l + wr * r) + INT_OFFSET : eidx;
}

// metric: eq = the centre agrees with the image, c = agreeing cells of the 3x3 window
__device__ __forceinline__ int idx_metric(int sym, int eq, int c)
{
    if (!sym) return 2 * eq - 1 + INT_OFFSET;  // block: c - c1 = 2 eq - 1, the window cancels
    const int c1 = c + 1 - 2 * eq;
    return abs(2 * c - 9) - abs(2 * c1 - 9) + INT_OFFSET;
}

// ---- row vectors: 8 columns of one row in a word ----------------------------------------
__device__ __forceinline__ int byte_at(u64 w, int q)
{
    return (int)(i8)(u8)(w >> (8 * q));
}

// Column q in [-1, 8] of a row: bytes 0..7 of the word, else the one extra column the phase
// needs (8 g - 1 for START 0, whose sites are 0, 2, 4, 6; 8 g + 8 for START 1).
__device__ __forceinline__ int col(u64 w, int e, int q)
{
    return q < 0 || q > 7 ? e : byte_at(w, q);
}

// New word of the row's 8 columns after updating the 4 sites START + 2 k (k = 0..3).
// c, u, d: spins of the row, the row above and below; ec: its extra column; w*: the edge
// model's bond mask the same way (unused by the torus).
template <int START, int KIND>
__device__ __forceinline__ u64 update8(u64 c, int ec, u64 u, u64 d, u64 wc, int ewc, u64 wu,
                                       u64 wd, const u32 o[4], const u32 *t, const Params &p)
{
    u64 flip = 0;
    u64 dis = 0;
    if (KIND == K_TORUS) {
        // spins are bytes 0x01 / 0xFF: (x ^ y) >> 1 & 1 per byte is 1 where they differ.
        // Byte q of dis counts the neighbours that disagree with column q (0..4; no byte
        // carries), so idx = 2 s (u + d + l + r) + 8 = 16 - 4 dis. Bytes of the other
        // phase see a wrong extra column and are not used.
        const u64 ones = 0x0101010101010101ull, e = (u64)(u8)ec;
        const u64 l = START ? c << 8 : (c << 8) | e;
        const u64 r = START ? (c >> 8) | (e << 56) : c >> 8;
        dis = (((c ^ u) >> 1) & ones) + (((c ^ d) >> 1) & ones) + (((c ^ l) >> 1) & ones)
            + (((c ^ r) >> 1) & ones);
    }
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int q = START + 2 * k;
        const int si = byte_at(c, q);
        int idx;
        if (KIND == K_TORUS) {
            idx = 2 * INT_OFFSET - 4 * (int)((dis >> (8 * q)) & 0xFFu);
        } else {
            idx = idx_edge(si, byte_at(wc, q), byte_at(u, q), byte_at(wu, q), byte_at(d, q),
                           byte_at(wd, q), col(c, ec, q - 1), col(wc, ewc, q - 1),
                           col(c, ec, q + 1), col(wc, ewc, q + 1), p.eidx);
        }
        if (accept(o[k], idx, t, p.acc)) flip |= (u64)0xFEu << (8 * q);  // +-1: x ^ 0xFE
    }
    return c ^ flip;
}

// metric: rows r = 0, 1, 2 (above, this, below) of spins s and image a, with extra columns
template <int START, int SYM>
__device__ __forceinline__ u64 update8_metric(const u64 s[3], const int es[3], const u64 a[3],
                                              const int ea[3], const u32 o[4], const u32 *t,
                                              const Params &p)
{
    // spins and image are bytes 0x01 / 0xFF: ~((x ^ y) >> 1) & 1 per byte is 1 where they
    // agree. V: agreeing cells per column over the 3 rows; C = V(q - 1) + V(q) + V(q + 1),
    // the window count of every column at once (bytes stay <= 9: no carries). Bytes of the
    // other phase see a wrong extra column and are not used.
    const u64 ones = 0x0101010101010101ull;
    const u64 ec = SYM ? ~((s[1] ^ a[1]) >> 1) & ones : 0;
    u64 C = 0;
    if (SYM) {
        u64 v = 0;
        int ve = 0;
#pragma unroll
        for (int r = 0; r < 3; ++r) {
            v += ~((s[r] ^ a[r]) >> 1) & ones;
            ve += es[r] == ea[r];
        }
        const u64 e = (u64)(u8)ve;
        const u64 l = START ? v << 8 : (v << 8) | e;
        const u64 r = START ? (v >> 8) | (e << 56) : v >> 8;
        C = v + l + r;
    }
    u64 flip = 0;
#pragma unroll
    for (int k = 0; k < 4; ++k) {
        const int q = START + 2 * k;
        const int eq = SYM ? (int)(ec >> (8 * q)) & 1 : byte_at(s[1], q) == byte_at(a[1], q);
        const int c = (int)(C >> (8 * q)) & 0xFF;
        if (accept(o[k], idx_metric(SYM, eq, c), t, p.acc)) flip |= (u64)0xFEu << (8 * q);
    }
    return s[1] ^ flip;
}

// the extra column of a row for this phase: 8 g - 1 (start 0) or 8 g + 8 (start 1), wrapped
__device__ __forceinline__ int extra_col(int start, int g, int G, int W)
{
    return start ? (g + 1 < G ? 8 * g + 8 : 0) : (g > 0 ? 8 * g - 1 : W - 1);
}

// one site, any width (the general path): byte loads, the same index formulas
template <int KIND>
__device__ __forceinline__ void site_general(i8 *__restrict__ s, const i8 *__restrict__ a,
                                             int i, int j, u32 word, const u32 *t,
                                             const Params &p)
{
    const int H = p.H, W = p.W;
    const usize ru = (usize)(i > 0 ? i - 1 : H - 1) * W;
    const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
    const usize rc = (usize)i * W;
    const int jl = j > 0 ? j - 1 : W - 1;
    const int jr = j < W - 1 ? j + 1 : 0;
    const int si = s[rc + j];
    int idx;
    if (KIND == K_TORUS) {
        idx = idx_torus(si, s[ru + j], s[rd + j], s[rc + jl], s[rc + jr]);
    } else if (KIND == K_EDGE) {
        idx = idx_edge(si, a[rc + j], s[ru + j], a[ru + j], s[rd + j], a[rd + j], s[rc + jl],
                       a[rc + jl], s[rc + jr], a[rc + jr], p.eidx);
    } else {
        int c = 0;
        if (KIND == K_SYM) {
            const usize rows[3] = {ru, rc, rd};
            const int cols[3] = {jl, j, jr};
            for (int r = 0; r < 3; ++r)
                for (int k = 0; k < 3; ++k)
                    c += s[rows[r] + cols[k]] == a[rows[r] + cols[k]];
        }
        idx = idx_metric(KIND == K_SYM, s[rc + j] == a[rc + j], c);
    }
    if (accept(word, idx, t, p.acc)) s[rc + j] = (i8)(-si);
}

template <int KIND>
__device__ __forceinline__ void rows_sweep(i8 *__restrict__ s, const i8 *__restrict__ a,
                                           const u32 *__restrict__ thr, const Params &p)
{
    __shared__ u32 t[NTAB];
    load_table(t, thr);
    const bool four = KIND == K_BLOCK || KIND == K_SYM;
    const int g = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    const int i = four ? 2 * y + (int)(p.phase >> 1) : y;
    const int start = four ? (int)(p.phase & 1u) : (i + (int)p.phase) & 1;
    const int H = p.H, W = p.W, G = (W + 7) >> 3;
    if (g >= G || i >= H) return;
    u32 o[4];
    words4(o, g, i, p.phase, p);
    if (W & 7) {  // general width: site by site
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int j = 8 * g + start + 2 * k;
            if (j < W) site_general<KIND>(s, a, i, j, o[k], t, p);
        }
        return;
    }
    // fast path: rows are whole 8-byte words, 8-byte aligned
    u64 *__restrict__ S = (u64 *)s;
    const u64 *__restrict__ A = (const u64 *)a;
    const int iu = i > 0 ? i - 1 : H - 1, id = i < H - 1 ? i + 1 : 0;
    const usize wc = (usize)i * G + g, wu = (usize)iu * G + g, wd = (usize)id * G + g;
    const int je = extra_col(start, g, G, W);
    u64 out;
    if (KIND == K_TORUS || KIND == K_EDGE) {
        const u64 c = S[wc], u = S[wu], d = S[wd];
        const int ec = s[(usize)i * W + je];
        u64 ac = 0, au = 0, ad = 0;
        int eac = 0;
        if (KIND == K_EDGE) {
            ac = A[wc];
            au = A[wu];
            ad = A[wd];
            eac = a[(usize)i * W + je];
        }
        out = start ? update8<1, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p)
                    : update8<0, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p);
    } else {
        const int SYM = KIND == K_SYM;
        u64 sr[3] = {0, S[wc], 0}, ar[3] = {0, A[wc], 0};
        int es[3] = {0, 0, 0}, ea[3] = {0, 0, 0};
        if (SYM) {
            const int rows[3] = {iu, i, id};
            sr[0] = S[wu];
            sr[2] = S[wd];
            ar[0] = A[wu];
            ar[2] = A[wd];
#pragma unroll
            for (int r = 0; r < 3; ++r) {
                es[r] = s[(usize)rows[r] * W + je];
                ea[r] = a[(usize)rows[r] * W + je];
            }
        }
        out = start ? update8_metric<1, KIND == K_SYM>(sr, es, ar, ea, o, t, p)
                    : update8_metric<0, KIND == K_SYM>(sr, es, ar, ea, o, t, p);
    }
    S[wc] = out;
}

extern "C" __global__ void ising_rows_torus(i8 *__restrict__ s, const u32 *__restrict__ thr,
                                            Params p)
{
    rows_sweep<K_TORUS>(s, (const i8 *)0, thr, p);
}

extern "C" __global__ void ising_rows_edge(i8 *__restrict__ s, const i8 *__restrict__ w,
                                           const u32 *__restrict__ thr, Params p)
{
    rows_sweep<K_EDGE>(s, w, thr, p);
}

extern "C" __global__ void ising_rows_block(i8 *__restrict__ s, const i8 *__restrict__ a,
                                            const u32 *__restrict__ thr, Params p)
{
    rows_sweep<K_BLOCK>(s, a, thr, p);
}

extern "C" __global__ void ising_rows_symmetric(i8 *__restrict__ s, const i8 *__restrict__ a,
                                                const u32 *__restrict__ thr, Params p)
{
    rows_sweep<K_SYM>(s, a, thr, p);
}

// ---- both phases in one launch (int8 torus and edge, W % 8 == 0), src -> dst ------------
// Block (FT_GROUPS, any) threads (blockDim.x must be FT_GROUPS); tile FT_ROWS rows x
// FT_GROUPS words. Shared rows hold lattice
// rows i0 - 2 .. i0 + FT_ROWS + 1, words g0 - 1 .. g0 + FT_GROUPS (wrapped: on lattices smaller
// than a tile a cell may appear twice; each copy gets the same phase-0 result).
#define FT_ROWS 32
#define FT_GROUPS 32

template <int KIND>
__device__ __forceinline__ void fused_sweep(const i8 *__restrict__ src,
                                            const i8 *__restrict__ a, i8 *__restrict__ dst,
                                            const u32 *__restrict__ thr, const Params &p)
{
    __shared__ u32 t[NTAB];
    __shared__ u64 ts[FT_ROWS + 4][FT_GROUPS + 2];
    __shared__ u64 ta[KIND == K_EDGE ? FT_ROWS + 4 : 1][FT_GROUPS + 2];
    const int tid = (int)(threadIdx.y * blockDim.x + threadIdx.x);
    const int nthr = (int)(blockDim.x * blockDim.y);
    const int H = p.H, W = p.W, G = W >> 3;
    const int i0 = (int)blockIdx.y * FT_ROWS, g0 = (int)blockIdx.x * FT_GROUPS;
    const u64 *__restrict__ S = (const u64 *)src;
    const u64 *__restrict__ A = (const u64 *)a;
    if (tid < NTAB) t[tid] = thr[tid];
    // blockDim.x == FT_GROUPS: thread x loads words x and x + FT_GROUPS (x < 2) of the
    // shared rows and updates word x + 1; the wrapped word indices are computed once
    const int tx = (int)threadIdx.x, q = tx + 1;
    const int ga = wrap(g0 + tx - 1, G), gb = wrap(g0 + tx + FT_GROUPS - 1, G);
    const int g = wrap(g0 + tx, G);
    for (int r = (int)threadIdx.y; r < FT_ROWS + 4; r += (int)blockDim.y) {
        const usize row = (usize)wrap(i0 + r - 2, H) * G;
        ts[r][tx] = S[row + ga];
        if (KIND == K_EDGE) ta[r][tx] = A[row + ga];
        if (tx < 2) {
            ts[r][tx + FT_GROUPS] = S[row + gb];
            if (KIND == K_EDGE) ta[r][tx + FT_GROUPS] = A[row + gb];
        }
    }
    __syncthreads();
    // phase 0 on tile rows and the halo rows, words g0 .. g0 + FT_GROUPS - 1
    for (int r = 1 + (int)threadIdx.y; r <= FT_ROWS + 2; r += (int)blockDim.y) {
        const int i = wrap(i0 + r - 2, H);
        const int start = i & 1;  // (i + j) even, 8 g even
        u32 o[4];
        words4(o, g, i, 0u, p);
        const int ec = start ? byte_at(ts[r][q + 1], 0) : byte_at(ts[r][q - 1], 7);
        int eac = 0;
        u64 ac = 0, au = 0, ad = 0;
        if (KIND == K_EDGE) {
            eac = start ? byte_at(ta[r][q + 1], 0) : byte_at(ta[r][q - 1], 7);
            ac = ta[r][q];
            au = ta[r - 1][q];
            ad = ta[r + 1][q];
        }
        const u64 c = ts[r][q], u = ts[r - 1][q], d = ts[r + 1][q];
        ts[r][q] = start ? update8<1, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p)
                         : update8<0, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p);
    }
    // phase 0 on the halo columns: byte 7 of word g0 - 1 and byte 0 of word g0 + FT_GROUPS
    for (int k = tid; k < 2 * FT_ROWS; k += nthr) {
        const int r = 2 + (k >> 1), right = k & 1;
        const int hq = right ? FT_GROUPS + 1 : 0, b = right ? 0 : 7;
        const int i = wrap(i0 + r - 2, H);
        if ((i + b) & 1) continue;  // a phase-1 cell: phase 0 leaves it
        u32 o[4];
        words4(o, wrap(right ? g0 + FT_GROUPS : g0 - 1, G), i, 0u, p);
        const u64 c = ts[r][hq];
        const int si = byte_at(c, b), u = byte_at(ts[r - 1][hq], b);
        const int d = byte_at(ts[r + 1][hq], b);
        const int l = right ? byte_at(ts[r][hq - 1], 7) : byte_at(c, 6);
        const int rr = right ? byte_at(c, 1) : byte_at(ts[r][hq + 1], 0);
        int idx;
        if (KIND == K_TORUS) {
            idx = idx_torus(si, u, d, l, rr);
        } else {
            const u64 wc = ta[r][hq];
            idx = idx_edge(si, byte_at(wc, b), u, byte_at(ta[r - 1][hq], b), d,
                           byte_at(ta[r + 1][hq], b),
                           l, right ? byte_at(ta[r][hq - 1], 7) : byte_at(wc, 6),
                           rr, right ? byte_at(wc, 1) : byte_at(ta[r][hq + 1], 0), p.eidx);
        }
        if (accept(right ? o[0] : o[3], idx, t, p.acc)) ts[r][hq] = c ^ ((u64)0xFEu << (8 * b));
    }
    __syncthreads();
    // phase 1 on the tile, straight to dst
    u64 *__restrict__ D = (u64 *)dst;
    if (g0 + tx >= G) return;  // a wrapped copy: another block owns it
    for (int r = 2 + (int)threadIdx.y; r <= FT_ROWS + 1; r += (int)blockDim.y) {
        const int i = i0 + r - 2;
        if (i >= H) break;
        const int start = (i + 1) & 1;
        u32 o[4];
        words4(o, g, i, 1u, p);
        const int ec = start ? byte_at(ts[r][q + 1], 0) : byte_at(ts[r][q - 1], 7);
        int eac = 0;
        u64 ac = 0, au = 0, ad = 0;
        if (KIND == K_EDGE) {
            eac = start ? byte_at(ta[r][q + 1], 0) : byte_at(ta[r][q - 1], 7);
            ac = ta[r][q];
            au = ta[r - 1][q];
            ad = ta[r + 1][q];
        }
        const u64 c = ts[r][q], u = ts[r - 1][q], d = ts[r + 1][q];
        D[(usize)i * G + g] = start ? update8<1, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p)
                                    : update8<0, KIND>(c, ec, u, d, ac, eac, au, ad, o, t, p);
    }
}

extern "C" __global__ void ising_fused_torus(const i8 *__restrict__ src, i8 *__restrict__ dst,
                                             const u32 *__restrict__ thr, Params p)
{
    fused_sweep<K_TORUS>(src, (const i8 *)0, dst, thr, p);
}

extern "C" __global__ void ising_fused_edge(const i8 *__restrict__ src,
                                            const i8 *__restrict__ w, i8 *__restrict__ dst,
                                            const u32 *__restrict__ thr, Params p)
{
    fused_sweep<K_EDGE>(src, w, dst, thr, p);
}

// ---- 1 bit per spin (binary torus and edge models, W % 32 == 0) --------------------------
// bit-sliced sum of four 1-bit numbers per lane: (s0, s1, s2) = a + b + c + d
__device__ __forceinline__ void add4(u32 a, u32 b, u32 c, u32 d, u32 &s0, u32 &s1, u32 &s2)
{
    const u32 x = a ^ b, y = a & b, z = c ^ d, v = c & d;
    const u32 k = x & z;
    s0 = x ^ z;
    s1 = y ^ v ^ k;
    s2 = (y & v) | (k & (y ^ v));
}

template <int START, int EDGE>
__device__ __forceinline__ u32 packed_flips(const u32 P[4], u32 wc, int q, int i,
                                            const u32 *t, const Params &p)
{
    // the table index of bit b is sum_k ((P[k] >> b) & 1) << k (planes of index bits 1..4)
    u32 flip = 0;
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
        u32 o[4];
        words4(o, 4 * q + kk, i, p.phase, p);
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int b = 8 * kk + START + 2 * k;
            int idx = (int)((((P[0] >> b) & 1u) << 1) | (((P[1] >> b) & 1u) << 2)
                            | (((P[2] >> b) & 1u) << 3) | (((P[3] >> b) & 1u) << 4));
            if (EDGE && !((wc >> b) & 1u)) idx = p.eidx;
            if (accept(o[k], idx, t, p.acc)) flip |= 1u << b;
        }
    }
    return flip;
}

// torus: index 4 g (g agreeing neighbours), so only g = 3 (index 12) and g = 4 (16) can lie
// above acc; two compares per site against thresholds held in registers, and the bit-sliced
// masks of g pick the result
template <int START>
__device__ __forceinline__ u32 packed_flips_torus(u32 g0, u32 g1, u32 g2, int q, int i,
                                                  const u32 *t, const Params &p)
{
    const u32 t12 = t[12], t16 = t[16];
    u32 a12 = 0, a16 = 0;
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
        u32 o[4];
        words4(o, 4 * q + kk, i, p.phase, p);
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            const int b = 8 * kk + START + 2 * k;
            a12 |= (u32)(o[k] < t12) << b;
            a16 |= (u32)(o[k] < t16) << b;
        }
    }
    if (12u <= p.acc) a12 = 0xFFFFFFFFu;
    if (16u <= p.acc) a16 = 0xFFFFFFFFu;
    const u32 m12 = g0 & g1 & ~g2, m16 = g2;  // g == 3, g == 4
    const u32 sites = START ? 0xAAAAAAAAu : 0x55555555u;
    return (~(m12 | m16) | (m12 & a12) | (m16 & a16)) & sites;
}

template <int EDGE>
__device__ __forceinline__ void packed_sweep(u32 *__restrict__ x, const u32 *__restrict__ wm,
                                             const u32 *__restrict__ thr, const Params &p)
{
    __shared__ u32 t[NTAB];
    load_table(t, thr);
    const int q = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int i = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    const int H = p.H, Q = p.W >> 5;
    if (q >= Q || i >= H) return;
    const usize rc = (usize)i * Q, ru = (usize)(i > 0 ? i - 1 : H - 1) * Q;
    const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * Q;
    const int ql = q > 0 ? q - 1 : Q - 1, qr = q < Q - 1 ? q + 1 : 0;
    const u32 c = x[rc + q];
    const u32 u = x[ru + q], d = x[rd + q];
    const u32 l = (c << 1) | (x[rc + ql] >> 31), r = (c >> 1) | (x[rc + qr] << 31);
    u32 P[4], wc = 0;
    if (!EDGE) {
        // index = 2 s nb + 8 = 4 (agreeing neighbours): bits 2..4
        u32 g0, g1, g2;
        add4(~(c ^ u), ~(c ^ d), ~(c ^ l), ~(c ^ r), g0, g1, g2);
        P[0] = 0;
        P[1] = g0;
        P[2] = g1;
        P[3] = g2;
    } else {
        // index = 2 code, code = sum over neighbours of 2 (w_n and agree) + (1 - w_n)
        wc = wm[rc + q];
        const u32 wu = wm[ru + q], wd = wm[rd + q];
        const u32 wl = (wc << 1) | (wm[rc + ql] >> 31), wr = (wc >> 1) | (wm[rc + qr] << 31);
        u32 l0, l1, l2, h0, h1, h2;
        add4(~wu, ~wd, ~wl, ~wr, l0, l1, l2);
        add4(wu & ~(c ^ u), wd & ~(c ^ d), wl & ~(c ^ l), wr & ~(c ^ r), h0, h1, h2);
        const u32 ca = l1 & h0;
        P[0] = l0;
        P[1] = l1 ^ h0;
        P[2] = l2 ^ h1 ^ ca;
        P[3] = h2 ^ ((l2 & h1) | (ca & (l2 ^ h1)));
    }
    const int start = (i + (int)p.phase) & 1;
    u32 flip;
    if (!EDGE)
        flip = start ? packed_flips_torus<1>(P[1], P[2], P[3], q, i, t, p)
                     : packed_flips_torus<0>(P[1], P[2], P[3], q, i, t, p);
    else
        flip = start ? packed_flips<1, EDGE>(P, wc, q, i, t, p)
                     : packed_flips<0, EDGE>(P, wc, q, i, t, p);
    x[rc + q] = c ^ flip;
}

extern "C" __global__ void ising_packed_torus(u32 *__restrict__ x, const u32 *__restrict__ thr,
                                              Params p)
{
    packed_sweep<0>(x, (const u32 *)0, thr, p);
}

extern "C" __global__ void ising_packed_edge(u32 *__restrict__ x, const u32 *__restrict__ wm,
                                             const u32 *__restrict__ thr, Params p)
{
    packed_sweep<1>(x, wm, thr, p);
}

// int8 (+1 / -1, or the edge model's 0 / 1 mask) -> bits: 1 where the byte is 1
extern "C" __global__ void ising_pack(const i8 *__restrict__ s, u32 *__restrict__ x, int H,
                                      int W)
{
    const int q = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int i = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    const int Q = W >> 5;
    if (q >= Q || i >= H) return;
    const i8 *row = s + (usize)i * W + 32 * q;
    u32 v = 0;
    for (int b = 0; b < 32; ++b) v |= (u32)(row[b] == 1) << b;
    x[(usize)i * Q + q] = v;
}

extern "C" __global__ void ising_unpack(const u32 *__restrict__ x, i8 *__restrict__ s, int H,
                                        int W)
{
    const int q = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int i = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    const int Q = W >> 5;
    if (q >= Q || i >= H) return;
    const u32 v = x[(usize)i * Q + q];
    i8 *row = s + (usize)i * W + 32 * q;
    for (int b = 0; b < 32; ++b) row[b] = (v >> b) & 1u ? (i8)1 : (i8)-1;
}

// ---- continuous torus: dE = ((t(u) + t(d)) + t(l)) + t(r), t(n) = |s + n| - |s - n| -------
// (unchanged: u64 table, one thread per Philox call)
__device__ __forceinline__ void philox_keys(u32 c[4], u32 k0, u32 k1)
{
#pragma unroll
    for (int r = 0; r < 10; ++r) {
        if (r) {
            k0 += PHILOX_W0;
            k1 += PHILOX_W1;
        }
        const u32 hi0 = __umulhi(PHILOX_M0, c[0]);
        const u32 lo0 = PHILOX_M0 * c[0];
        const u32 hi1 = __umulhi(PHILOX_M1, c[2]);
        const u32 lo1 = PHILOX_M1 * c[2];
        const u32 n0 = hi1 ^ c[1] ^ k0;
        const u32 n2 = hi0 ^ c[3] ^ k1;
        c[0] = n0;
        c[1] = lo1;
        c[2] = n2;
        c[3] = lo0;
    }
}

__device__ __forceinline__ float cont_term(float a, float n)
{
    return __fsub_rn(fabsf(__fadd_rn(a, n)), fabsf(__fsub_rn(a, n)));
}

extern "C" __global__ void ising_sweep_cont(float *s, const u64 *thr, int H, int W,
                                            u32 k0, u32 k1, u32 sweep, u32 phase)
{
    const int g = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int i = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (g >= (W + 7) / 8 || i >= H) return;
    const int start = (i + (int)phase) & 1;
    u32 o[4] = {(u32)g, (u32)i, sweep, phase};
    philox_keys(o, k0, k1);
    const float *up = s + (usize)(i > 0 ? i - 1 : H - 1) * W;
    const float *dn = s + (usize)(i < H - 1 ? i + 1 : 0) * W;
    float *row = s + (usize)i * W;
#pragma unroll
    for (int t = 0; t < 4; ++t) {
        const int j = 8 * g + start + 2 * t;
        if (j >= W) break;
        const int jl = j > 0 ? j - 1 : W - 1;
        const int jr = j < W - 1 ? j + 1 : 0;
        const float si = row[j];
        float de = __fadd_rn(cont_term(si, up[j]), cont_term(si, dn[j]));
        de = __fadd_rn(de, cont_term(si, row[jl]));
        de = __fadd_rn(de, cont_term(si, row[jr]));
        // q = floor(float64(dE) * 256 + 0.5), exact in double
        i64 q = (i64)floor(__dadd_rn(__dmul_rn((double)de, 256.0), 0.5)) + CONT_OFFSET;
        q = q < 0 ? 0 : (q > 2 * CONT_OFFSET ? 2 * CONT_OFFSET : q);
        if ((u64)o[t] < thr[q]) row[j] = -si;
    }
}

// ---- observables: per-block integer partial sums (energy, spin), then one block ---------
// Blocks of 256 threads; part[2 b], part[2 b + 1] for block b = blockIdx.y gridDim.x + x.
__device__ __forceinline__ void block_sum(i64 e, i64 m, i64 *__restrict__ part)
{
    __shared__ i64 se[256], sm[256];
    const int tid = (int)(threadIdx.y * blockDim.x + threadIdx.x);
    se[tid] = e;
    sm[tid] = m;
    __syncthreads();
    for (int h = 128; h > 0; h >>= 1) {
        if (tid < h) {
            se[tid] += se[tid + h];
            sm[tid] += sm[tid + h];
        }
        __syncthreads();
    }
    if (tid == 0) {
        const usize b = (usize)blockIdx.y * gridDim.x + blockIdx.x;
        part[2 * b] = se[0];
        part[2 * b + 1] = sm[0];
    }
}

// one column per thread, rows strided over the grid's y; kind: 0 torus, 1 edge (a = bond
// mask), 2 block metric, 3 symmetric metric (a = initial image)
extern "C" __global__ void ising_obs_i8(const i8 *__restrict__ s, const i8 *__restrict__ a,
                                        int H, int W, int kind, i64 *__restrict__ part)
{
    i64 e = 0, m = 0;
    const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (j < W) {
        const int jl = j > 0 ? j - 1 : W - 1, jr = j < W - 1 ? j + 1 : 0;
        for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < H;
             i += (int)(gridDim.y * blockDim.y)) {
            const usize rc = (usize)i * W, rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
            const int si = s[rc + j];
            if (kind == 0) {
                e -= si * ((int)s[rd + j] + (int)s[rc + jr]);
            } else if (kind == 1) {
                e -= (int)a[rc + j] * si
                     * ((int)a[rd + j] * s[rd + j] + (int)a[rc + jr] * s[rc + jr]);
            } else {
                const usize ru = (usize)(i > 0 ? i - 1 : H - 1) * W;
                const usize rows[3] = {ru, rc, rd};
                const int cols[3] = {jl, j, jr};
                int c = 0;
                for (int r = 0; r < 3; ++r)
                    for (int k = 0; k < 3; ++k) c += s[rows[r] + cols[k]] == a[rows[r] + cols[k]];
                e -= kind == 2 ? c : abs(2 * c - 9);
            }
            m += si;
        }
    }
    block_sum(e, m, part);
}

__device__ __forceinline__ i64 fixed24(float x)
{
    return (i64)floor(__dadd_rn(__dmul_rn((double)x, FIXED_SCALE), 0.5));
}

// bond terms |s_i - s_j| and spins in multiples of 2**-24 (the host subtracts 2 N 2**24)
extern "C" __global__ void ising_obs_cont(const float *__restrict__ s, int H, int W,
                                          i64 *__restrict__ part)
{
    i64 e = 0, m = 0;
    const int j = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (j < W) {
        const int jr = j < W - 1 ? j + 1 : 0;
        for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < H;
             i += (int)(gridDim.y * blockDim.y)) {
            const usize rc = (usize)i * W, rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
            const float si = s[rc + j];
            e += fixed24(fabsf(__fsub_rn(si, s[rd + j])));
            e += fixed24(fabsf(__fsub_rn(si, s[rc + jr])));
            m += fixed24(si);
        }
    }
    block_sum(e, m, part);
}

// packed lattice: one word per thread; energy = (disagreeing bonds) - (agreeing bonds) over
// the bonds down and right (edge model: bonds whose both ends are not edge pixels)
extern "C" __global__ void ising_obs_packed(const u32 *__restrict__ x, const u32 *__restrict__ wm,
                                            int H, int W, int edge, i64 *__restrict__ part)
{
    i64 e = 0, m = 0;
    const int Q = W >> 5;
    const int q = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    if (q < Q) {
        const int qr = q < Q - 1 ? q + 1 : 0;
        for (int i = (int)(blockIdx.y * blockDim.y + threadIdx.y); i < H;
             i += (int)(gridDim.y * blockDim.y)) {
            const usize rc = (usize)i * Q, rd = (usize)(i < H - 1 ? i + 1 : 0) * Q;
            const u32 c = x[rc + q], d = x[rd + q], r = (c >> 1) | (x[rc + qr] << 31);
            u32 bd = 0xFFFFFFFFu, br = 0xFFFFFFFFu;  // bonds that count
            if (edge) {
                const u32 wc = wm[rc + q];
                bd = wc & wm[rd + q];
                br = wc & ((wc >> 1) | (wm[rc + qr] << 31));
            }
            const int dis = __popc((c ^ d) & bd) + __popc((c ^ r) & br);
            e += 2 * dis - (__popc(bd) + __popc(br));
            m += 2 * __popc(c) - 32;
        }
    }
    block_sum(e, m, part);
}

// one block of 256 threads: out = (e0 + sum of energies, sum of spins) over n partials
extern "C" __global__ void ising_obs_finish(const i64 *__restrict__ part, int n, i64 e0,
                                            i64 *__restrict__ out)
{
    i64 e = 0, m = 0;
    for (int k = (int)threadIdx.x; k < n; k += (int)blockDim.x) {
        e += part[2 * k];
        m += part[2 * k + 1];
    }
    if (threadIdx.x == 0) e += e0;
    block_sum(e, m, out);
}

// ---- frames: out = floor(127.5 (mean of k x k spins + 1)), uint8 -------------------------
__device__ __forceinline__ u8 to_u8(float v)
{
    float f = floorf(__fmul_rn(127.5f, __fadd_rn(v, 1.0f)));
    f = f < 0.0f ? 0.0f : (f > 255.0f ? 255.0f : f);
    return (u8)f;
}

__device__ __forceinline__ u8 int_frame(int sum, int k)
{
    return to_u8(k == 1 ? (float)sum : __fdiv_rn((float)sum, (float)(k * k)));
}

extern "C" __global__ void ising_frame_i8(const i8 *s, int H, int W, int k, u8 *out)
{
    const int fw = W / k, fh = H / k;
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= fw || y >= fh) return;
    int sum = 0;  // exact: spins are integers
    for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) sum += s[(usize)(y * k + a) * W + x * k + b];
    out[(usize)y * fw + x] = int_frame(sum, k);
}

extern "C" __global__ void ising_frame_packed(const u32 *x, int H, int W, int k, u8 *out)
{
    const int fw = W / k, fh = H / k, Q = W >> 5;
    const int fx = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int fy = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (fx >= fw || fy >= fh) return;
    int ones = 0;
    for (int a = 0; a < k; ++a) {
        const u32 *row = x + (usize)(fy * k + a) * Q;
        for (int b = 0; b < k; ++b) {
            const int j = fx * k + b;
            ones += (int)((row[j >> 5] >> (j & 31)) & 1u);
        }
    }
    out[(usize)fy * fw + fx] = int_frame(2 * ones - k * k, k);
}

extern "C" __global__ void ising_frame_f32(const float *s, int H, int W, int k, u8 *out)
{
    const int fw = W / k, fh = H / k;
    const int x = (int)(blockIdx.x * blockDim.x + threadIdx.x);
    const int y = (int)(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= fw || y >= fh) return;
    float sum = 0.0f;  // k > 1: not bit-exact with NumPy's pairwise mean (last-ulp level)
    for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) sum = __fadd_rn(sum, s[(usize)(y * k + a) * W + x * k + b]);
    const float mean = k == 1 ? sum : __fdiv_rn(sum, (float)(k * k));
    out[(usize)y * fw + x] = to_u8(mean);
}
