// gpuent: windowed-histogram maps on the GPU (local entropy, local expected values).
//
// The specification is gpuent/_kernels/histogram/spec.py; this kernel reproduces the
// Numba path (_cpu.py) bit for bit.
//
// Algorithm: vertical sliding, one thread per (column x, run of rows [y0, y0 + run)).
//   * A work item is a column x and a run of output rows. Consecutive threads of a warp
//     take consecutive columns of the same run, so every level load of a step
//     (lv[row * W + col], same row, consecutive col) is coalesced, and so is the store
//     of the output row.
//   * The thread fills its window once at y0 (N = footprint pixels), then, per step
//     y-1 -> y, removes the pixels that leave and adds those that enter: per footprint
//     column, one (leave, enter) pair per run of the footprint in that column (the
//     pairs are grouped by their row offsets (gl, ge), see _cuda.py). Equal levels
//     cancel. No loop runs over all levels.
//   * The window keeps n (pixels counted), kocc (occupied levels) and the int64
//     fixed-point sum S = sum_k T[o + c_k], updated with the increments
//     inc[o + c] = T[o + c + 1] - T[o + c] (plan.increments()). Integer sums do not
//     depend on the order of the updates (they telescope; arithmetic is modular in
//     unsigned 64 bits and the final S fits in int64 by construction of the plan), so
//     S, n and kocc equal those of the CPU path exactly.
//   * Triangular tables (PER_N, local_expected): row o = row_off[n] is valid only while
//     n is unchanged; a step that changes n re-sums the window (drain, then refill),
//     as the CPU path does.
//   * Boundaries: rowmap / colmap are the plan's index maps (int32, -1 = outside, not
//     counted), so clip / reflect / mirror / wrap share one code path. Pixels that are
//     not counted (mask, NaN) are level -1 in an int32 level image.
//   * Histogram: one per thread, with counts of type CT (uint8 when N < 256, uint16 when
//     N < 65536, else uint32). P = 4 / sizeof(CT) counts share one 32-bit word, and the
//     words of the T threads that share the storage are interleaved: level v of thread
//     `lane` is count v % P of word (v / P) * T + lane (see slot()). With T a multiple
//     of 32, every word of a lane lies in bank lane % 32, so a warp touches 32 distinct
//     banks whatever its levels (interleaving single counts instead would put 4 uint8
//     lanes in one bank: 4-way conflicts), and no word is written by two threads. In
//     shared memory (SHARED, T = blockDim.x) or in global scratch memory (T = all
//     threads of the launch) for many levels. Threads loop over work items
//     (grid-stride), so an image of any size runs with a bounded grid and scratch.
//   * The histogram is emptied after each item: all levels zeroed when nlevels <= 2N,
//     else the window's pixels removed.
//
// Finish (bit-exact): IEEE double operations only, in the order of spec.py, with the
// explicitly rounded intrinsics __dmul_rn / __dadd_rn / __dsub_rn / __ddiv_rn so that
// the compiler can never contract a * b + c into an FMA (which would change the last
// bit with respect to NumPy / Numba). The module is also compiled with -fmad=false.
// float32 output is rounded once from double with __double2float_rn.
//
// Compiled by CuPy (NVRTC) with name_expressions for the variants actually used; the
// explicit instantiations at the end are for `nvcc -ptx` checks only.

#ifndef GPUENT_WINDOWED_HISTOGRAM_CU
#define GPUENT_WINDOWED_HISTOGRAM_CU

namespace gpuent {

template <typename LT>
__device__ __forceinline__ int load_level(const LT* __restrict__ lv, int r, int c, int W) {
    if (r < 0 || c < 0) {
        return -1;
    }
    return static_cast<int>(lv[static_cast<long long>(r) * W + c]);
}

// Index (in counts) of level v >= 0 in a thread's histogram, relative to the thread's
// first count; wstride = P * T counts separate two words of one thread.
template <typename CT>
__device__ __forceinline__ long long slot(int v, long long wstride) {
    static_assert(sizeof(CT) == 1 || sizeof(CT) == 2 || sizeof(CT) == 4, "count type");
    constexpr unsigned int P = 4 / sizeof(CT);
    const unsigned int u = static_cast<unsigned int>(v);
    return static_cast<long long>(u / P) * wstride + static_cast<long long>(u % P);
}

__device__ __forceinline__ double finish(unsigned long long s, int n, int kocc, int kind,
                                         const double* __restrict__ a,
                                         const double* __restrict__ d, double b, int mm,
                                         double ln_base, double inv_scale) {
    if (n == 0) {
        return __longlong_as_double(0x7ff8000000000000LL);  // NaN
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

// Template parameters:
//   LT     level type: unsigned char, unsigned short, or int (-1 = not counted)
//   CT     count type: unsigned char / unsigned short / unsigned int (max count >= N)
//   OT     output type: float or double
//   SHARED histogram in dynamic shared memory (else in global `scratch`)
//   PER_N  triangular table (row depends on n): re-sum when n changes
template <typename LT, typename CT, typename OT, bool SHARED, bool PER_N>
__global__ void windowed_vertical(
    const LT* __restrict__ lv, const int H, const int W,
    const int* __restrict__ rowmap,     // H + 2 ry entries
    const int* __restrict__ colmap,     // W + 2 rx entries
    const int* __restrict__ offy,       // N footprint row offsets in [0, 2 ry]
    const int* __restrict__ offx,       // N footprint column offsets in [0, 2 rx]
    const int npix,
    const int* __restrict__ pair_x,     // column offset of each (leave, enter) pair
    const int* __restrict__ pair_start, // ngroups + 1
    const int* __restrict__ pair_gl,    // leaving row offset of each group
    const int* __restrict__ pair_ge,    // entering row offset of each group
    const int ngroups,
    const long long* __restrict__ inc,  // table increments
    const long long* __restrict__ row_off,  // N + 1 row starts (zeros for 1-D tables)
    const double* __restrict__ a, const double* __restrict__ d, const double b,
    const int mm, const int kind, const double ln_base, const double inv_scale,
    const int nlevels, const int run, const long long nitems,
    CT* __restrict__ scratch, OT* __restrict__ out) {
    extern __shared__ __align__(16) unsigned char smem_raw[];

    const long long nthreads = static_cast<long long>(gridDim.x) * blockDim.x;
    const long long gtid = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
    constexpr int P = 4 / static_cast<int>(sizeof(CT));  // counts per 32-bit word
    CT* hist;          // this thread's first count
    long long wstride; // counts between two words of this thread (P * threads interleaved)
    if (SHARED) {
        hist = reinterpret_cast<CT*>(smem_raw) + static_cast<long long>(threadIdx.x) * P;
        wstride = static_cast<long long>(blockDim.x) * P;
    } else {
        hist = scratch + gtid * P;
        wstride = nthreads * P;
    }
    if (gtid >= nitems) {
        return;
    }
    for (int v = 0; v < nlevels; ++v) {
        hist[slot<CT>(v, wstride)] = 0;
    }
    const bool zero_all = nlevels <= 2 * npix;

    for (long long item = gtid; item < nitems; item += nthreads) {
        const int x = static_cast<int>(item % W);
        const int y0 = static_cast<int>(item / W) * run;
        const int y1 = min(y0 + run, H);

        // fill the window at y0 (n first: a triangular table needs row n)
        int n = 0;
        long long o = 0;
        if (PER_N) {
            for (int t = 0; t < npix; ++t) {
                if (load_level(lv, __ldg(rowmap + y0 + __ldg(offy + t)),
                               __ldg(colmap + x + __ldg(offx + t)), W) >= 0) {
                    ++n;
                }
            }
            o = __ldg(row_off + n);
            n = 0;
        }
        unsigned long long s = 0;
        int kocc = 0;
        for (int t = 0; t < npix; ++t) {
            const int v = load_level(lv, __ldg(rowmap + y0 + __ldg(offy + t)),
                                     __ldg(colmap + x + __ldg(offx + t)), W);
            if (v >= 0) {
                const unsigned int c = hist[slot<CT>(v, wstride)];
                s += static_cast<unsigned long long>(__ldg(inc + o + c));
                hist[slot<CT>(v, wstride)] = static_cast<CT>(c + 1);
                kocc += (c == 0);
                ++n;
            }
        }
        out[static_cast<long long>(y0) * W + x] =
            to_out<OT>(finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale));

        for (int y = y0 + 1; y < y1; ++y) {
            bool recount = false;
            if (PER_N) {
                int dn = 0;
                for (int g = 0; g < ngroups; ++g) {
                    const int rl = __ldg(rowmap + y - 1 + __ldg(pair_gl + g));
                    const int re = __ldg(rowmap + y + __ldg(pair_ge + g));
                    const int tend = __ldg(pair_start + g + 1);
                    for (int t = __ldg(pair_start + g); t < tend; ++t) {
                        const int cc = __ldg(colmap + x + __ldg(pair_x + t));
                        dn -= (load_level(lv, rl, cc, W) >= 0);
                        dn += (load_level(lv, re, cc, W) >= 0);
                    }
                }
                recount = dn != 0;
            }
            // per footprint column, one pixel leaves and one enters; equal levels
            // cancel. Removing before adding keeps every count within the table's row.
            for (int g = 0; g < ngroups; ++g) {
                const int rl = __ldg(rowmap + y - 1 + __ldg(pair_gl + g));
                const int re = __ldg(rowmap + y + __ldg(pair_ge + g));
                const int tend = __ldg(pair_start + g + 1);
                for (int t = __ldg(pair_start + g); t < tend; ++t) {
                    const int cc = __ldg(colmap + x + __ldg(pair_x + t));
                    const int vl = load_level(lv, rl, cc, W);
                    const int ve = load_level(lv, re, cc, W);
                    if (vl == ve) {
                        continue;
                    }
                    if (vl >= 0) {
                        const unsigned int c = hist[slot<CT>(vl, wstride)];
                        if (!PER_N || !recount) {
                            s -= static_cast<unsigned long long>(__ldg(inc + o + c - 1));
                        }
                        hist[slot<CT>(vl, wstride)] = static_cast<CT>(c - 1);
                        --n;
                        kocc -= (c == 1);
                    }
                    if (ve >= 0) {
                        const unsigned int c = hist[slot<CT>(ve, wstride)];
                        if (!PER_N || !recount) {
                            s += static_cast<unsigned long long>(__ldg(inc + o + c));
                        }
                        hist[slot<CT>(ve, wstride)] = static_cast<CT>(c + 1);
                        ++n;
                        kocc += (c == 0);
                    }
                }
            }
            if (PER_N && recount) {
                // n changed: re-sum the window with row n (drain, then refill)
                o = __ldg(row_off + n);
                s = 0;
                for (int t = 0; t < npix; ++t) {
                    const int v = load_level(lv, __ldg(rowmap + y + __ldg(offy + t)),
                                             __ldg(colmap + x + __ldg(offx + t)), W);
                    if (v >= 0) {
                        hist[slot<CT>(v, wstride)] -= 1;
                    }
                }
                for (int t = 0; t < npix; ++t) {
                    const int v = load_level(lv, __ldg(rowmap + y + __ldg(offy + t)),
                                             __ldg(colmap + x + __ldg(offx + t)), W);
                    if (v >= 0) {
                        const unsigned int c = hist[slot<CT>(v, wstride)];
                        s += static_cast<unsigned long long>(__ldg(inc + o + c));
                        hist[slot<CT>(v, wstride)] = static_cast<CT>(c + 1);
                    }
                }
            }
            out[static_cast<long long>(y) * W + x] =
                to_out<OT>(finish(s, n, kocc, kind, a, d, b, mm, ln_base, inv_scale));
        }

        // empty the histogram for the next item
        if (zero_all) {
            for (int v = 0; v < nlevels; ++v) {
                hist[slot<CT>(v, wstride)] = 0;
            }
        } else {
            const int ylast = y1 - 1;
            for (int t = 0; t < npix; ++t) {
                const int v = load_level(lv, __ldg(rowmap + ylast + __ldg(offy + t)),
                                         __ldg(colmap + x + __ldg(offx + t)), W);
                if (v >= 0) {
                    hist[slot<CT>(v, wstride)] -= 1;
                }
            }
        }
    }
}

}  // namespace gpuent

#if !defined(__CUDACC_RTC__)
// nvcc -ptx compile checks: instantiate every variant (NVRTC instantiates on demand).
#define GPUENT_INST_OUT(LT, CT, OT)                                                      \
    template __global__ void gpuent::windowed_vertical<LT, CT, OT, true, false>(           \
        const LT*, int, int, const int*, const int*, const int*, const int*, int,          \
        const int*, const int*, const int*, const int*, int, const long long*,             \
        const long long*, const double*, const double*, double, int, int, double, double,  \
        int, int, long long, CT*, OT*);                                                    \
    template __global__ void gpuent::windowed_vertical<LT, CT, OT, false, false>(          \
        const LT*, int, int, const int*, const int*, const int*, const int*, int,          \
        const int*, const int*, const int*, const int*, int, const long long*,             \
        const long long*, const double*, const double*, double, int, int, double, double,  \
        int, int, long long, CT*, OT*);                                                    \
    template __global__ void gpuent::windowed_vertical<LT, CT, OT, true, true>(            \
        const LT*, int, int, const int*, const int*, const int*, const int*, int,          \
        const int*, const int*, const int*, const int*, int, const long long*,             \
        const long long*, const double*, const double*, double, int, int, double, double,  \
        int, int, long long, CT*, OT*);                                                    \
    template __global__ void gpuent::windowed_vertical<LT, CT, OT, false, true>(           \
        const LT*, int, int, const int*, const int*, const int*, const int*, int,          \
        const int*, const int*, const int*, const int*, int, const long long*,             \
        const long long*, const double*, const double*, double, int, int, double, double,  \
        int, int, long long, CT*, OT*);
#define GPUENT_INST_COUNT(LT, CT) GPUENT_INST_OUT(LT, CT, float) GPUENT_INST_OUT(LT, CT, double)
#define GPUENT_INST_LEVEL(LT)                                                             \
    GPUENT_INST_COUNT(LT, unsigned char)                                                  \
    GPUENT_INST_COUNT(LT, unsigned short)                                                 \
    GPUENT_INST_COUNT(LT, unsigned int)
GPUENT_INST_LEVEL(unsigned char)
GPUENT_INST_LEVEL(unsigned short)
GPUENT_INST_LEVEL(int)
#endif

#endif  // GPUENT_WINDOWED_HISTOGRAM_CU
