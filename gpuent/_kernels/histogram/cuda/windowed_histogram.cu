// gpuent: windowed-histogram maps on the GPU (local entropy, local expected values).
//
// The specification is gpuent/_kernels/histogram/spec.py; this kernel reproduces the
// Numba path (_cpu.py) bit for bit, for 2-D images and 3-D volumes.
//
// Algorithm: sliding along the first axis ("rows" z), one thread per (column c, run of
// rows [z0, z1)). A column is a pixel of the plane of the other axes: an x in 2-D, a
// (y, x) in 3-D (the plane has HY rows of W pixels; HY = 1 in 2-D).
//   * Consecutive threads take consecutive columns of the same run, so every level load
//     of a step (same row, consecutive c) is coalesced, and so is the store of the output.
//   * The thread fills its window once at z0 (N = footprint pixels), then, per step
//     z-1 -> z, removes the pixels that leave and adds those that enter: per footprint
//     column (dy, dx), one (leave, enter) pair per run of the footprint along z (pairs are
//     grouped by their row offsets (gl, ge), see _cuda.py). No loop runs over all levels.
//   * The window keeps n (pixels counted), kocc (occupied levels) and the int64
//     fixed-point sum S = sum_k T[o + c_k], updated with the increments
//     inc[o + c] = T[o + c + 1] - T[o + c] (plan.increments()). Integer sums do not
//     depend on the order of the updates (they telescope; arithmetic is modular in
//     unsigned 64 bits and the final S fits in int64 by construction of the plan), so
//     S, n and kocc equal those of the CPU path exactly.
//   * Triangular tables (PER_N, local_expected): row o = row_off[n] is valid only while
//     n is unchanged; a step that changes n re-sums the window (drain, then refill),
//     as the CPU path does.
//
// Two paths per step, one result:
//   * General path (borders, masks, NaN, any footprint): index maps zmap / ymap / xmap
//     (int32, -1 = outside, not counted) turn padded coordinates into source ones, so
//     clip / reflect / mirror / wrap share one code; pixels that are not counted (mask,
//     NaN) are level -1 in an int32 level image.
//   * Interior fast path (BW > 0: the footprint is a full box, BW = its width, known at
//     compile time; every pixel counted, `all_valid`): when the leaving and entering rows
//     and the box's columns lie inside the volume, every index map is the identity, so a
//     step reads the leaving and entering rows straight from two pointers (no map loads),
//     with all levels of a chunk of up to 16 pairs loaded before the histogram updates,
//     and updates branch-free (a pixel that leaves and one of the same level that enters
//     cancel exactly). n cannot change there (one pixel leaves, one enters, all counted).
//
// Histogram: one per thread, with counts of type CT (uint8 when N < 256, uint16 when
// N < 65536, else uint32). P = 4 / sizeof(CT) counts share one 32-bit word. The 32 lanes
// of a warp share a tile of 32 * words words: level v of lane l is count v % P of word
// (v / P) * 32 + l of the tile, so every word of a lane lies in bank l (a warp touches 32
// distinct banks whatever its levels, and no word is written by two threads). The tile
// stride is a compile-time constant, and the thread's offset in the tile is computed once:
// a histogram access is one 32-bit shift/mask/add, then LDS/STS (SHARED: dynamic shared
// memory) or a 64-bit tile pointer plus a 32-bit offset (global scratch memory, for many
// levels). Threads loop over work items (grid-stride; the launcher gives every thread
// the same number of items, or one less), so an image of any size runs with a bounded
// grid and scratch. The histogram is emptied after each item: every word zeroed when
// nlevels <= 2N, else the window's pixels removed.
//
// Finish (bit-exact): IEEE double operations only, in the order of spec.py, with the
// explicitly rounded intrinsics __dmul_rn / __dadd_rn / __dsub_rn / __ddiv_rn so that
// the compiler can never contract a * b + c into an FMA (which would change the last
// bit with respect to NumPy / Numba). The module is also compiled with -fmad=false.
// float32 output is rounded once from double with __double2float_rn.
//
// Compiled by CuPy (NVRTC) with name_expressions for the variants actually used; the
// explicit instantiations at the end are for `nvcc -ptx` checks only. The host harness
// (tests/test_local_entropy_host.py) compiles this very file with g++ and CUDA
// stand-ins; GPUENT_DYNAMIC_SHARED is its one hook (a buffer per block it can poison).

#ifndef GPUENT_WINDOWED_HISTOGRAM_CU
#define GPUENT_WINDOWED_HISTOGRAM_CU

#ifndef GPUENT_DYNAMIC_SHARED
#define GPUENT_DYNAMIC_SHARED(name) extern __shared__ __align__(16) unsigned char name[]
#endif

namespace gpuent {

// Level of source pixel (zs, ps) (row, index in the plane), -1 when either is outside.
template <typename LT>
__device__ __forceinline__ int level_at(const LT* __restrict__ lv, int zs, int ps, int PS) {
    if (zs < 0 || ps < 0) {
        return -1;
    }
    return static_cast<int>(__ldg(lv + (static_cast<long long>(zs) * PS + ps)));
}

// Source index in the plane of column (yy, xx) shifted by footprint offsets (dy, dx)
// (padded, in [0, 2 ry] x [0, 2 rx]); -1 when it is outside (clip).
__device__ __forceinline__ int plane_src(const int* __restrict__ ymap,
                                         const int* __restrict__ xmap, int yy, int xx,
                                         int dy, int dx, int W) {
    const int ym = __ldg(ymap + yy + dy);
    const int xm = __ldg(xmap + xx + dx);
    return (ym < 0 || xm < 0) ? -1 : ym * W + xm;
}

// Plane index of a column's footprint offsets; when the column's whole footprint is
// inside (`in`), the plane maps are identities there and no map is read.
struct PlaneIndex {
    bool in;
    int cbase, yy, xx, W;
    const int* __restrict__ ymap;
    const int* __restrict__ xmap;
    __device__ __forceinline__ int operator()(int dy, int dx) const {
        return in ? cbase + dy * W + dx : plane_src(ymap, xmap, yy, xx, dy, dx, W);
    }
};

// Offset (in counts) of level v in a lane's histogram, relative to the lane's first count.
template <typename CT>
__device__ __forceinline__ unsigned int slot(unsigned int v) {
    static_assert(sizeof(CT) == 1 || sizeof(CT) == 2 || sizeof(CT) == 4, "count type");
    constexpr unsigned int P = 4u / sizeof(CT);
    // (v / P) * 32 P + v % P, written as 32 v - 31 (v % P): two multiply-adds and a mask
    return 32u * v - 31u * (v % P);
}

__device__ __forceinline__ double finish(unsigned long long s, int n, int kocc, int kind,
                                         const double* __restrict__ a,
                                         const double* __restrict__ d, double b, int mm,
                                         double ln_base, double inv_scale) {
    if (n == 0) {
        return __longlong_as_double(0x7ff8000000000000LL);  // NaN
    }
    if (kind == 2) {  // plug-in / Miller-Madow in bits: a holds the bits of int64 n L[n]
        const long long num = __double_as_longlong(__ldg(a + n)) - static_cast<long long>(s);
        double h = __dmul_rn(__ddiv_rn(static_cast<double>(num), static_cast<double>(n)),
                             inv_scale);
        if (mm) {
            h = __dadd_rn(h, __ddiv_rn(static_cast<double>(kocc - 1), __ldg(d + n)));
        }
        return __ddiv_rn(h, ln_base);
    }
    double x = __dmul_rn(static_cast<double>(static_cast<long long>(s)), inv_scale);
    if (kind != 0) {
        return x;
    }
    double h = __dsub_rn(__ldg(a + n), __ddiv_rn(__dadd_rn(x, b), __ldg(d + n)));
    if (mm) {
        h = __dadd_rn(h, __ddiv_rn(static_cast<double>(kocc - 1),
                                   __dmul_rn(2.0, static_cast<double>(n))));
    }
    return __ddiv_rn(h, ln_base);
}

template <typename OT>
__device__ __forceinline__ OT to_out(double v);

template <>
__device__ __forceinline__ float to_out<float>(double v) {
    return __double2float_rn(v);
}

template <>
__device__ __forceinline__ double to_out<double>(double v) {
    return v;
}

// One row of BW consecutive pixels of the box, in the interior: levels of up to 16
// (leave, enter) pairs are loaded first, then the histogram is updated branch-free.
// `incp` is the table row (inc + o); every leaving level has a count >= 1.
template <int BW, typename LT, typename CT>
__device__ __forceinline__ void step_row(const LT* __restrict__ pl, const LT* __restrict__ pe,
                                         CT* __restrict__ hp, const unsigned int hoff,
                                         const long long* __restrict__ incp,
                                         unsigned long long& s, int& kocc) {
    constexpr int CH = BW < 16 ? BW : 16;
    const long long* __restrict__ incm1 = incp - 1;  // a leaving count c >= 1 reads inc[c - 1]
#pragma unroll
    for (int i0 = 0; i0 < BW; i0 += CH) {
        unsigned int vl[CH];
        unsigned int ve[CH];
#pragma unroll
        for (int i = 0; i < CH; ++i) {
            if (i0 + i < BW) {
                vl[i] = static_cast<unsigned int>(__ldg(pl + i0 + i));
                ve[i] = static_cast<unsigned int>(__ldg(pe + i0 + i));
            }
        }
#pragma unroll
        for (int i = 0; i < CH; ++i) {
            if (i0 + i < BW) {
                const unsigned int kl = hoff + slot<CT>(vl[i]);
                const unsigned int cl = hp[kl];
                s -= static_cast<unsigned long long>(__ldg(incm1 + cl));
                hp[kl] = static_cast<CT>(cl - 1u);
                kocc -= (cl == 1u);
                const unsigned int ke = hoff + slot<CT>(ve[i]);
                const unsigned int ce = hp[ke];
                s += static_cast<unsigned long long>(__ldg(incp + ce));
                hp[ke] = static_cast<CT>(ce + 1u);
                kocc += (ce == 0u);
            }
        }
    }
}

// Add (ADD) or remove the whole box whose first pixel is `p0`, all inside (interior
// fill and drain). Rows of the box are W apart, planes PS apart.
template <int BW, bool ADD, typename LT, typename CT>
__device__ __forceinline__ void box_apply(const LT* __restrict__ p0, int bz, int bh, int W,
                                          int PS, CT* __restrict__ hp,
                                          const unsigned int hoff,
                                          const long long* __restrict__ incp,
                                          unsigned long long& s, int& kocc) {
    constexpr int CH = BW < 16 ? BW : 16;
    for (int dz = 0; dz < bz; ++dz) {
        const LT* row = p0 + static_cast<long long>(dz) * PS;
        for (int dy = 0; dy < bh; ++dy, row += W) {
#pragma unroll
            for (int i0 = 0; i0 < BW; i0 += CH) {
                unsigned int v[CH];
#pragma unroll
                for (int i = 0; i < CH; ++i) {
                    if (i0 + i < BW) {
                        v[i] = static_cast<unsigned int>(__ldg(row + i0 + i));
                    }
                }
#pragma unroll
                for (int i = 0; i < CH; ++i) {
                    if (i0 + i < BW) {
                        const unsigned int k = hoff + slot<CT>(v[i]);
                        const unsigned int c = hp[k];
                        if (ADD) {
                            s += static_cast<unsigned long long>(__ldg(incp + c));
                            kocc += (c == 0u);
                            hp[k] = static_cast<CT>(c + 1u);
                        } else {
                            hp[k] = static_cast<CT>(c - 1u);
                        }
                    }
                }
            }
        }
    }
}

// The plan structure of windowed_sliding: everything it reads besides the levels, the
// scratch memory and the output, passed by value (kernel parameter space). Its one Python
// definition is _cuda.WINDOW_ARGS (tests/test_kernel_structs.py checks names, types,
// offsetof and sizeof against it).
struct WindowArgs {
    int D, HY, W;                // rows (sliding axis), plane rows, plane columns
    const int* zmap;             // D + 2 rz entries
    const int* ymap;             // HY + 2 ry entries
    const int* xmap;             // W + 2 rx entries
    int rz, ry, rx;
    const int* offz;             // N footprint offsets in [0, 2 rz]
    const int* offy;             // ... in [0, 2 ry]
    const int* offx;             // ... in [0, 2 rx]
    int npix;
    const int* pair_y;           // plane offsets (dy, dx) of each (leave, enter) pair
    const int* pair_x;
    const int* pair_start;       // ngroups + 1
    const int* pair_gl;          // leaving row offset of each group
    const int* pair_ge;          // entering row offset of each group
    int ngroups;
    const long long* inc;        // table increments
    const long long* row_off;    // N + 1 row starts (zeros for 1-D tables)
    const double* a;
    const double* d;
    double b;
    int mm, kind;
    double ln_base, inv_scale;
    int nlevels, all_valid, nruns;
    long long nitems;
};

// Template parameters:
//   LT     level type: unsigned char, unsigned short, or int (-1 = not counted)
//   CT     count type: unsigned char / unsigned short / unsigned int (max count >= N)
//   OT     output type: float or double
//   SHARED histogram in dynamic shared memory (else in global `scratch`)
//   PER_N  triangular table (row depends on n): re-sum when n changes
//   BW     0: general path only; > 0: the footprint is a full box BW pixels wide, and
//          the interior fast path runs where it applies (all_valid, box inside)
template <typename LT, typename CT, typename OT, bool SHARED, bool PER_N, int BW>
__global__ void windowed_sliding(const LT* __restrict__ lv, const WindowArgs p,
                                 CT* __restrict__ scratch, OT* __restrict__ out) {
    // the plan structure, unpacked into the names the body uses
    const int D = p.D, HY = p.HY, W = p.W;
    const int* __restrict__ zmap = p.zmap;
    const int* __restrict__ ymap = p.ymap;
    const int* __restrict__ xmap = p.xmap;
    const int rz = p.rz, ry = p.ry, rx = p.rx;
    const int* __restrict__ offz = p.offz;
    const int* __restrict__ offy = p.offy;
    const int* __restrict__ offx = p.offx;
    const int npix = p.npix;
    const int* __restrict__ pair_y = p.pair_y;
    const int* __restrict__ pair_x = p.pair_x;
    const int* __restrict__ pair_start = p.pair_start;
    const int* __restrict__ pair_gl = p.pair_gl;
    const int* __restrict__ pair_ge = p.pair_ge;
    const int ngroups = p.ngroups;
    const long long* __restrict__ inc = p.inc;
    const long long* __restrict__ row_off = p.row_off;
    const double* __restrict__ a = p.a;
    const double* __restrict__ d = p.d;
    const double b = p.b;
    const int mm = p.mm, kind = p.kind;
    const double ln_base = p.ln_base, inv_scale = p.inv_scale;
    const int nlevels = p.nlevels, all_valid = p.all_valid, nruns = p.nruns;
    const long long nitems = p.nitems;
    GPUENT_DYNAMIC_SHARED(smem_raw);

    constexpr unsigned int P = 4u / sizeof(CT);  // counts per 32-bit word
    const long long nthreads = static_cast<long long>(gridDim.x) * blockDim.x;
    const long long gtid = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (gtid >= nitems) {
        return;
    }
    const unsigned int words = (static_cast<unsigned int>(nlevels) + P - 1u) / P;
    const unsigned int lane = threadIdx.x % 32u;
    // hp[hoff + slot(v)] is level v of this thread; offsets are 32-bit, computed once
    CT* hp;
    unsigned int hoff;
    if (SHARED) {
        hp = reinterpret_cast<CT*>(smem_raw);
        hoff = ((threadIdx.x / 32u) * words * 32u + lane) * P;
    } else {
        hp = scratch + (gtid / 32) * static_cast<long long>(words) * 32 * P;
        hoff = lane * P;
    }
    unsigned int* const hw = reinterpret_cast<unsigned int*>(hp) + hoff / P;  // word 0
    for (unsigned int k = 0; k < words; ++k) {
        hw[k * 32u] = 0u;
    }
    const bool zero_all = nlevels <= 2 * npix;
    const int PS = HY * W;                 // pixels per row (plane)
    const int bz = 2 * rz + 1, bh = 2 * ry + 1;

    for (long long item = gtid; item < nitems; item += nthreads) {
        const int c = static_cast<int>(item % PS);
        const long long j = item / PS;
        const int z0 = static_cast<int>(j * D / nruns);
        const int z1 = static_cast<int>((j + 1) * D / nruns);
        const int yy = c / W;
        const int xx = c - yy * W;
        // the footprint's columns are inside: every plane map is the identity there
        const bool col_in = xx >= rx && xx < W - rx && yy >= ry && yy < HY - ry;
        const int cbase = col_in ? (yy - ry) * W + (xx - rx) : 0;
        const bool col_fast = BW > 0 && all_valid && col_in;
        const PlaneIndex pidx{col_in, cbase, yy, xx, W, ymap, xmap};
        // first pixel of the box's first row at row 0 (rows added as z * PS)
        const LT* const colp =
            col_fast ? lv + (static_cast<long long>(yy - ry) * W + (xx - rx)) : lv;

        // fill the window at z0 (n first: a triangular table needs row n)
        int n = 0;
        long long o = 0;
        unsigned long long s = 0;
        int kocc = 0;
        if (BW > 0 && col_fast && z0 >= rz && z0 + rz < D) {
            n = npix;
            if (PER_N) {
                o = __ldg(row_off + n);
            }
            box_apply<(BW > 0 ? BW : 1), true>(colp + static_cast<long long>(z0 - rz) * PS,
                                               bz, bh, W, PS, hp, hoff, inc + o, s, kocc);
        } else {
            if (PER_N) {
                for (int t = 0; t < npix; ++t) {
                    const int ps = pidx(__ldg(offy + t), __ldg(offx + t));
                    n += level_at(lv, __ldg(zmap + z0 + __ldg(offz + t)), ps, PS) >= 0;
                }
                o = __ldg(row_off + n);
                n = 0;
            }
            for (int t = 0; t < npix; ++t) {
                const int ps = pidx(__ldg(offy + t), __ldg(offx + t));
                const int v = level_at(lv, __ldg(zmap + z0 + __ldg(offz + t)), ps, PS);
                if (v >= 0) {
                    const unsigned int k = hoff + slot<CT>(static_cast<unsigned int>(v));
                    const unsigned int cnt = hp[k];
                    s += static_cast<unsigned long long>(__ldg(inc + o + cnt));
                    hp[k] = static_cast<CT>(cnt + 1u);
                    kocc += (cnt == 0u);
                    ++n;
                }
            }
        }
        out[static_cast<long long>(z0) * PS + c] =
            to_out<OT>(finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale));

        for (int z = z0 + 1; z < z1; ++z) {
            if (BW > 0 && col_fast && z - 1 - rz >= 0 && z + rz < D) {
                // interior: rows z - 1 - rz leave and z + rz enter, maps are identities
                const LT* pl = colp + static_cast<long long>(z - 1 - rz) * PS;
                const LT* pe = colp + static_cast<long long>(z + rz) * PS;
                for (int dy = 0; dy < bh; ++dy, pl += W, pe += W) {
                    step_row<(BW > 0 ? BW : 1)>(pl, pe, hp, hoff, inc + o, s, kocc);
                }
                out[static_cast<long long>(z) * PS + c] =
                    to_out<OT>(finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale));
                continue;
            }
            bool recount = false;
            if (PER_N) {
                int dn = 0;
                for (int g = 0; g < ngroups; ++g) {
                    const int rl = __ldg(zmap + z - 1 + __ldg(pair_gl + g));
                    const int re = __ldg(zmap + z + __ldg(pair_ge + g));
                    const int tend = __ldg(pair_start + g + 1);
                    for (int t = __ldg(pair_start + g); t < tend; ++t) {
                        const int ps = pidx(__ldg(pair_y + t), __ldg(pair_x + t));
                        dn -= (level_at(lv, rl, ps, PS) >= 0);
                        dn += (level_at(lv, re, ps, PS) >= 0);
                    }
                }
                recount = dn != 0;
            }
            // per footprint column, one pixel leaves and one enters; equal levels
            // cancel. Removing before adding keeps every count within the table's row.
            for (int g = 0; g < ngroups; ++g) {
                const int rl = __ldg(zmap + z - 1 + __ldg(pair_gl + g));
                const int re = __ldg(zmap + z + __ldg(pair_ge + g));
                const int tend = __ldg(pair_start + g + 1);
                for (int t = __ldg(pair_start + g); t < tend; ++t) {
                    const int ps = pidx(__ldg(pair_y + t), __ldg(pair_x + t));
                    const int vl = level_at(lv, rl, ps, PS);
                    const int ve = level_at(lv, re, ps, PS);
                    if (vl == ve) {
                        continue;
                    }
                    if (vl >= 0) {
                        const unsigned int k = hoff + slot<CT>(static_cast<unsigned int>(vl));
                        const unsigned int cnt = hp[k];
                        if (!PER_N || !recount) {
                            s -= static_cast<unsigned long long>(__ldg(inc + o + cnt - 1));
                        }
                        hp[k] = static_cast<CT>(cnt - 1u);
                        --n;
                        kocc -= (cnt == 1u);
                    }
                    if (ve >= 0) {
                        const unsigned int k = hoff + slot<CT>(static_cast<unsigned int>(ve));
                        const unsigned int cnt = hp[k];
                        if (!PER_N || !recount) {
                            s += static_cast<unsigned long long>(__ldg(inc + o + cnt));
                        }
                        hp[k] = static_cast<CT>(cnt + 1u);
                        ++n;
                        kocc += (cnt == 0u);
                    }
                }
            }
            if (PER_N && recount) {
                // n changed: re-sum the window with row n (drain, then refill)
                o = __ldg(row_off + n);
                s = 0;
                for (int t = 0; t < npix; ++t) {
                    const int ps = pidx(__ldg(offy + t), __ldg(offx + t));
                    const int v = level_at(lv, __ldg(zmap + z + __ldg(offz + t)), ps, PS);
                    if (v >= 0) {
                        hp[hoff + slot<CT>(static_cast<unsigned int>(v))] -= 1;
                    }
                }
                for (int t = 0; t < npix; ++t) {
                    const int ps = pidx(__ldg(offy + t), __ldg(offx + t));
                    const int v = level_at(lv, __ldg(zmap + z + __ldg(offz + t)), ps, PS);
                    if (v >= 0) {
                        const unsigned int k = hoff + slot<CT>(static_cast<unsigned int>(v));
                        const unsigned int cnt = hp[k];
                        s += static_cast<unsigned long long>(__ldg(inc + o + cnt));
                        hp[k] = static_cast<CT>(cnt + 1u);
                    }
                }
            }
            out[static_cast<long long>(z) * PS + c] =
                to_out<OT>(finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale));
        }

        // empty the histogram for the next item
        const int zlast = z1 - 1;
        if (zero_all) {
            for (unsigned int k = 0; k < words; ++k) {
                hw[k * 32u] = 0u;
            }
        } else if (BW > 0 && col_fast && zlast >= rz && zlast + rz < D) {
            box_apply<(BW > 0 ? BW : 1), false>(colp + static_cast<long long>(zlast - rz) * PS,
                                                bz, bh, W, PS, hp, hoff, inc, s, kocc);
        } else {
            for (int t = 0; t < npix; ++t) {
                const int ps = pidx(__ldg(offy + t), __ldg(offx + t));
                const int v = level_at(lv, __ldg(zmap + zlast + __ldg(offz + t)), ps, PS);
                if (v >= 0) {
                    hp[hoff + slot<CT>(static_cast<unsigned int>(v))] -= 1;
                }
            }
        }
    }
}

}  // namespace gpuent

#if !defined(__CUDACC_RTC__) && defined(__CUDACC__)
// nvcc -ptx compile checks: instantiate every general variant and the fast path for a
// few widths (NVRTC instantiates on demand, any width).
#define GPUENT_INST(LT, CT, OT, SH, PN, BW)                                                \
    template __global__ void gpuent::windowed_sliding<LT, CT, OT, SH, PN, BW>(               \
        const LT*, const gpuent::WindowArgs, CT*, OT*);
#define GPUENT_INST_OUT(LT, CT, OT)                                                      \
    GPUENT_INST(LT, CT, OT, true, false, 0) GPUENT_INST(LT, CT, OT, false, false, 0)        \
    GPUENT_INST(LT, CT, OT, true, true, 0) GPUENT_INST(LT, CT, OT, false, true, 0)
#define GPUENT_INST_COUNT(LT, CT) GPUENT_INST_OUT(LT, CT, float) GPUENT_INST_OUT(LT, CT, double)
#define GPUENT_INST_LEVEL(LT)                                                             \
    GPUENT_INST_COUNT(LT, unsigned char)                                                  \
    GPUENT_INST_COUNT(LT, unsigned short)                                                 \
    GPUENT_INST_COUNT(LT, unsigned int)
GPUENT_INST_LEVEL(unsigned char)
GPUENT_INST_LEVEL(unsigned short)
GPUENT_INST_LEVEL(int)
GPUENT_INST(unsigned char, unsigned char, float, true, false, 3)
GPUENT_INST(unsigned char, unsigned char, float, true, false, 15)
GPUENT_INST(unsigned char, unsigned short, float, true, false, 51)
GPUENT_INST(unsigned short, unsigned char, float, false, false, 15)
GPUENT_INST(unsigned char, unsigned char, double, true, true, 5)
GPUENT_INST(int, unsigned char, float, false, true, 7)
#endif

#endif  // GPUENT_WINDOWED_HISTOGRAM_CU
