// gpuent Ising kernels (CUDA), the spec of gpuent/_kernels/ising/__init__.py:
//   Philox4x32-10, key (k0, k1) = (seed & 0xFFFFFFFF, seed >> 32),
//   counter (c0, c1, c2, c3) = (j >> 3, i, sweep, phase), site (i, j) takes word (j >> 1) & 3;
//   2-phase models update (i + j) % 2 == phase, 4-phase 2 (i % 2) + (j % 2) == phase;
//   accept iff word < thr[index(dE)], thr a uint64 table computed on the host.
// One thread serves one Philox call: row i, column group g, the 4 sites 8 g + start + 2 t.
// Compiled by NVRTC through CuPy (options --fmad=false); no headers needed.
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
#define FIXED_SCALE 16777216.0  /* 2**24 */

__device__ __forceinline__ void philox4x32_10(u32 c[4], u32 k0, u32 k1)
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

// Row and first column of this thread's sites; false when the thread has no row.
__device__ __forceinline__ bool site_row(int H, u32 phase, int four, int &i, int &start)
{
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (four) {
        i = 2 * y + (int)(phase >> 1);
        start = (int)(phase & 1u);
    } else {
        i = y;
        start = (i + (int)phase) & 1;
    }
    return i < H;
}

__device__ __forceinline__ void words(u32 o[4], int g, int i, u32 sweep, u32 phase,
                                      u32 k0, u32 k1)
{
    o[0] = (u32)g;
    o[1] = (u32)i;
    o[2] = sweep;
    o[3] = phase;
    philox4x32_10(o, k0, k1);
}

// ---- binary torus: dE = 2 s (u + d + l + r) ---------------------------------------------
extern "C" __global__ void ising_sweep_torus(i8 *s, const u64 *thr, int H, int W,
                                             u32 k0, u32 k1, u32 sweep, u32 phase)
{
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    int i, start;
    if (g >= (W + 7) / 8 || !site_row(H, phase, 0, i, start)) return;
    u32 o[4];
    words(o, g, i, sweep, phase, k0, k1);
    const i8 *up = s + (usize)(i > 0 ? i - 1 : H - 1) * W;
    const i8 *dn = s + (usize)(i < H - 1 ? i + 1 : 0) * W;
    i8 *row = s + (usize)i * W;
#pragma unroll
    for (int t = 0; t < 4; ++t) {
        const int j = 8 * g + start + 2 * t;
        if (j >= W) break;
        const int jl = j > 0 ? j - 1 : W - 1;
        const int jr = j < W - 1 ? j + 1 : 0;
        const int si = row[j];
        const int nb = (int)up[j] + (int)dn[j] + (int)row[jl] + (int)row[jr];
        if ((u64)o[t] < thr[2 * si * nb + INT_OFFSET]) row[j] = (i8)(-si);
    }
}

// ---- edge model: bonds to edge pixels (w == 0) cut; edge pixels use thr[eidx] ----------
extern "C" __global__ void ising_sweep_edge(i8 *s, const i8 *w, const u64 *thr, int H, int W,
                                            u32 k0, u32 k1, u32 sweep, u32 phase, int eidx)
{
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    int i, start;
    if (g >= (W + 7) / 8 || !site_row(H, phase, 0, i, start)) return;
    u32 o[4];
    words(o, g, i, sweep, phase, k0, k1);
    const usize ru = (usize)(i > 0 ? i - 1 : H - 1) * W;
    const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
    const usize rc = (usize)i * W;
#pragma unroll
    for (int t = 0; t < 4; ++t) {
        const int j = 8 * g + start + 2 * t;
        if (j >= W) break;
        const int jl = j > 0 ? j - 1 : W - 1;
        const int jr = j < W - 1 ? j + 1 : 0;
        const int si = s[rc + j];
        const int nb = (int)w[ru + j] * s[ru + j] + (int)w[rd + j] * s[rd + j]
                     + (int)w[rc + jl] * s[rc + jl] + (int)w[rc + jr] * s[rc + jr];
        const int idx = w[rc + j] == 1 ? 2 * si * nb + INT_OFFSET : eidx;
        if ((u64)o[t] < thr[idx]) s[rc + j] = (i8)(-si);
    }
}

// ---- continuous torus: dE = ((t(u) + t(d)) + t(l)) + t(r), t(n) = |s + n| - |s - n| -------
__device__ __forceinline__ float cont_term(float a, float n)
{
    return __fsub_rn(fabsf(__fadd_rn(a, n)), fabsf(__fsub_rn(a, n)));
}

extern "C" __global__ void ising_sweep_cont(float *s, const u64 *thr, int H, int W,
                                            u32 k0, u32 k1, u32 sweep, u32 phase)
{
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    int i, start;
    if (g >= (W + 7) / 8 || !site_row(H, phase, 0, i, start)) return;
    u32 o[4];
    words(o, g, i, sweep, phase, k0, k1);
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

// ---- metric model: 3x3 window agreement with the initial image a ------------------------
__device__ __forceinline__ int agree3(const i8 *s, const i8 *a, usize r, int jl, int j, int jr)
{
    return (s[r + jl] == a[r + jl]) + (s[r + j] == a[r + j]) + (s[r + jr] == a[r + jr]);
}

extern "C" __global__ void ising_sweep_metric(i8 *s, const i8 *a, const u64 *thr, int H, int W,
                                              u32 k0, u32 k1, u32 sweep, u32 phase,
                                              int symmetric)
{
    const int g = blockIdx.x * blockDim.x + threadIdx.x;
    int i, start;
    if (g >= (W + 7) / 8 || !site_row(H, phase, 1, i, start)) return;
    u32 o[4];
    words(o, g, i, sweep, phase, k0, k1);
    const usize ru = (usize)(i > 0 ? i - 1 : H - 1) * W;
    const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
    const usize rc = (usize)i * W;
#pragma unroll
    for (int t = 0; t < 4; ++t) {
        const int j = 8 * g + start + 2 * t;
        if (j >= W) break;
        const int jl = j > 0 ? j - 1 : W - 1;
        const int jr = j < W - 1 ? j + 1 : 0;
        const int eq = s[rc + j] == a[rc + j];
        int de = 2 * eq - 1;  // block: c - c1 = 2 eq - 1, the window cancels
        if (symmetric) {
            const int c = agree3(s, a, ru, jl, j, jr) + agree3(s, a, rc, jl, j, jr)
                        + agree3(s, a, rd, jl, j, jr);
            const int c1 = c + 1 - 2 * eq;
            de = abs(2 * c - 9) - abs(2 * c1 - 9);
        }
        if ((u64)o[t] < thr[de + INT_OFFSET]) s[rc + j] = (i8)(-s[rc + j]);
    }
}

// ---- observables: (energy, spin) integer sums, two's complement in out[0], out[1] -------
__device__ __forceinline__ void reduce_add(i64 e, i64 m, u64 *out)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        e += __shfl_down_sync(0xFFFFFFFFu, e, off);
        m += __shfl_down_sync(0xFFFFFFFFu, m, off);
    }
    if ((threadIdx.x & 31) == 0) {
        atomicAdd(out, (u64)e);
        atomicAdd(out + 1, (u64)m);
    }
}

// kind: 0 torus, 1 edge (w = bond mask), 2 block metric, 3 symmetric metric (w = initial)
extern "C" __global__ void ising_obs_int(const i8 *s, const i8 *w, int H, int W, int kind,
                                         u64 *out)
{
    i64 e = 0, m = 0;
    const usize n = (usize)H * W;
    for (usize k = (usize)blockIdx.x * blockDim.x + threadIdx.x; k < n;
         k += (usize)gridDim.x * blockDim.x) {
        const int i = (int)(k / W), j = (int)(k % W);
        const usize rc = (usize)i * W;
        const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
        const int jr = j < W - 1 ? j + 1 : 0;
        const int si = s[rc + j];
        if (kind == 0) {
            e -= si * ((int)s[rd + j] + (int)s[rc + jr]);
        } else if (kind == 1) {
            e -= (int)w[rc + j] * si * ((int)w[rd + j] * s[rd + j] + (int)w[rc + jr] * s[rc + jr]);
        } else {
            const usize ru = (usize)(i > 0 ? i - 1 : H - 1) * W;
            const int jl = j > 0 ? j - 1 : W - 1;
            const int c = agree3(s, w, ru, jl, j, jr) + agree3(s, w, rc, jl, j, jr)
                        + agree3(s, w, rd, jl, j, jr);
            e -= kind == 2 ? c : abs(2 * c - 9);
        }
        m += si;
    }
    reduce_add(e, m, out);
}

__device__ __forceinline__ i64 fixed24(float x)
{
    return (i64)floor(__dadd_rn(__dmul_rn((double)x, FIXED_SCALE), 0.5));
}

extern "C" __global__ void ising_obs_cont(const float *s, int H, int W, u64 *out)
{
    i64 e = 0, m = 0;
    const usize n = (usize)H * W;
    for (usize k = (usize)blockIdx.x * blockDim.x + threadIdx.x; k < n;
         k += (usize)gridDim.x * blockDim.x) {
        const int i = (int)(k / W), j = (int)(k % W);
        const usize rd = (usize)(i < H - 1 ? i + 1 : 0) * W;
        const int jr = j < W - 1 ? j + 1 : 0;
        const float si = s[k];
        e += fixed24(fabsf(__fsub_rn(si, s[rd + j])));
        e += fixed24(fabsf(__fsub_rn(si, s[(usize)i * W + jr])));
        m += fixed24(si);
    }
    reduce_add(e, m, out);
}

// ---- frames: out = floor(127.5 (mean of k x k spins + 1)), uint8 -------------------------
__device__ __forceinline__ u8 to_u8(float v)
{
    float f = floorf(__fmul_rn(127.5f, __fadd_rn(v, 1.0f)));
    f = f < 0.0f ? 0.0f : (f > 255.0f ? 255.0f : f);
    return (u8)f;
}

extern "C" __global__ void ising_frame_i8(const i8 *s, int H, int W, int k, u8 *out)
{
    const int fw = W / k, fh = H / k;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= fw || y >= fh) return;
    int sum = 0;  // exact: spins are integers
    for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) sum += s[(usize)(y * k + a) * W + x * k + b];
    const float mean = k == 1 ? (float)sum : __fdiv_rn((float)sum, (float)(k * k));
    out[(usize)y * fw + x] = to_u8(mean);
}

extern "C" __global__ void ising_frame_f32(const float *s, int H, int W, int k, u8 *out)
{
    const int fw = W / k, fh = H / k;
    const int x = blockIdx.x * blockDim.x + threadIdx.x;
    const int y = blockIdx.y * blockDim.y + threadIdx.y;
    if (x >= fw || y >= fh) return;
    float sum = 0.0f;  // k > 1: not bit-exact with NumPy's pairwise mean (last-ulp level)
    for (int a = 0; a < k; ++a)
        for (int b = 0; b < k; ++b) sum = __fadd_rn(sum, s[(usize)(y * k + a) * W + x * k + b]);
    const float mean = k == 1 ? sum : __fdiv_rn(sum, (float)(k * k));
    out[(usize)y * fw + x] = to_u8(mean);
}
