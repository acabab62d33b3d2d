// Host stand-ins for the CUDA built-ins used by gpuent's kernels, so that the real .cu
// files compile with g++ (tests/test_local_entropy_host.py). Threads run one after
// another; kernels that need no __syncthreads, shuffles or atomics run exactly as on a GPU.
#ifndef GPUENT_CUDA_STAND_IN_H
#define GPUENT_CUDA_STAND_IN_H

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__
#define __align__(n) alignas(n)

struct gpuent_dim3 {
    unsigned int x, y, z;
};
static gpuent_dim3 threadIdx, blockIdx, blockDim, gridDim;

template <typename T>
inline T __ldg(const T* p) {
    return *p;
}

// IEEE double operations rounded once (volatile: no contraction, no excess precision)
inline double __dadd_rn(double a, double b) { volatile double r = a + b; return r; }
inline double __dsub_rn(double a, double b) { volatile double r = a - b; return r; }
inline double __dmul_rn(double a, double b) { volatile double r = a * b; return r; }
inline double __ddiv_rn(double a, double b) { volatile double r = a / b; return r; }
inline float __double2float_rn(double v) { volatile float r = static_cast<float>(v); return r; }
inline double __longlong_as_double(long long v) {
    double d;
    std::memcpy(&d, &v, sizeof d);
    return d;
}
inline long long __double_as_longlong(double v) {
    long long r;
    std::memcpy(&r, &v, sizeof r);
    return r;
}
using std::max;
using std::min;

#endif  // GPUENT_CUDA_STAND_IN_H
