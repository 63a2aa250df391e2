// host_device.h — TIDAL_HD marks a small scalar function that host code
// and CUDA kernels share, so a kernel computes the very bits the CPU path
// computes (the FP8 codec's rounding, the bf16 cast). Under nvcc it is
// __host__ __device__ and force-inlined; under a host compiler it is
// inline, and always inlined with GCC/Clang so it folds into the
// target_clones copies of the hot loops.
#pragma once

#if defined(__CUDACC__)
#define TIDAL_HD __host__ __device__ __forceinline__
#elif defined(__GNUC__)
#define TIDAL_HD inline __attribute__((always_inline))
#else
#define TIDAL_HD inline
#endif
