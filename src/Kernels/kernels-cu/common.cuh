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

// Philox4x32-10 (Engine.Random.Philox): key = (lo32(seed), hi32(seed)); block b of a stream is the
// ten-round function of the counter (lo32(b), hi32(b), 0, 0). Shared by random.cu and vq.cu.
namespace philox
{

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

struct Words { unsigned int w0, w1, w2, w3; };

// Block number `block` of the stream for `seed`: ten rounds, the key bumped between rounds.
__device__ __forceinline__ Words block(unsigned long long seed, unsigned long long block)
{
    unsigned int c0 = (unsigned int)block, c1 = (unsigned int)(block >> 32), c2 = 0u, c3 = 0u;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int r = 0; r < 10; r++)
    {
        if (r > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        unsigned int hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        unsigned int hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    Words w = { c0, c1, c2, c3 };
    return w;
}

} // namespace philox
