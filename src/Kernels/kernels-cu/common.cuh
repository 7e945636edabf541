// Shared definitions for every kernels-cu file (the kernel library prepends this header to each
// file before NVRTC compiles it). Kept to what NVRTC provides without system headers.
//
// ABI conventions (the C# side is Engine.Cuda.KernelArgs / Engine.Cuda.Geom):
// - every kernel is `extern "C" __global__`, named <op>_<dtype> with dtype f32 | f64 | i32;
// - pointers arrive already offset to the first element of the view;
// - sizes and strides are long long (elements); enums are int with the C# enum's numeric value;
// - elementwise kernels take a Geom by value and loop grid-stride over g.n elements.
#pragma once

#define GEOM_MAX_RANK 8
#define GEOM_MAX_OPERANDS 4

struct Geom
{
    long long n;
    int rank;
    int contiguous; // 1: rank 1 and every operand has stride 1
    long long shape[GEOM_MAX_RANK];
    long long strides[GEOM_MAX_OPERANDS * GEOM_MAX_RANK]; // operand k, dim d at [k * 8 + d]
};

// Offset (in elements) of linear element i (row-major over g.shape) in operand k.
__device__ __forceinline__ long long geom_offset(const Geom& g, int k, long long i)
{
    if (g.contiguous) return i;
    long long off = 0;
    for (int d = g.rank - 1; d >= 0; d--)
    {
        long long s = g.shape[d];
        long long q = i / s;
        off += (i - q * s) * g.strides[k * GEOM_MAX_RANK + d];
        i = q;
    }
    return off;
}

#define GRID_STRIDE_LOOP(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)
