// Philox4x32-10 draws (CudaBackend.Random.cs), the exact stream of Engine.Random.Philox:
// key = (lo32(seed), hi32(seed)); block b = Philox(counter = (lo32(offset + b), hi32(offset + b), 0, 0)).
//   f32: element i uses block i / 4, word i % 4;  f64: element i uses block i / 2, words 2(i % 2), 2(i % 2) + 1.
// One thread per Philox block writes its 4 (f32) or 2 (f64) elements; the tail block is guarded.
// Uniform values are bitwise equal to the CPU: lo + scale * u is evaluated as two separately rounded
// operations (__fmul_rn / __fadd_rn, never an FMA), u is exact. Normals use the same Box-Muller form
// (r = sqrt(-2 ln u1), (r cos 2 pi u2, r sin 2 pi u2)) and agree up to the rounding of log/sqrt/sin/cos.

#include "philox.cuh"

// ------------------------------------------------------------------------------------ entry points

// dst[i] = lo + scale * u_i for i < n (scale = hi - lo in float, computed by the host as the CPU does).
extern "C" __global__ void philox_uniform_f32(float* dst, long long n, unsigned long long seed, unsigned long long offset,
    float lo, float scale)
{
    long long blocks = (n + 3) / 4;
    GRID_STRIDE_LOOP(b, blocks)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        long long i = b * 4;
        float* d = dst + i;
        d[0] = philox::affine(lo, scale, philox::u24(w.w0));
        if (i + 1 < n) d[1] = philox::affine(lo, scale, philox::u24(w.w1));
        if (i + 2 < n) d[2] = philox::affine(lo, scale, philox::u24(w.w2));
        if (i + 3 < n) d[3] = philox::affine(lo, scale, philox::u24(w.w3));
    }
}

extern "C" __global__ void philox_uniform_f64(double* dst, long long n, unsigned long long seed, unsigned long long offset,
    double lo, double scale)
{
    long long blocks = (n + 1) / 2;
    GRID_STRIDE_LOOP(b, blocks)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        long long i = b * 2;
        dst[i] = philox::affine(lo, scale, philox::u53(w.w0, w.w1));
        if (i + 1 < n) dst[i + 1] = philox::affine(lo, scale, philox::u53(w.w2, w.w3));
    }
}

// dst[i] = mean + stddev * z_i.
extern "C" __global__ void philox_normal_f32(float* dst, long long n, unsigned long long seed, unsigned long long offset,
    float mean, float stddev)
{
    long long blocks = (n + 3) / 4;
    GRID_STRIDE_LOOP(b, blocks)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        long long i = b * 4;
        float* d = dst + i;
        float z0, z1;
        philox::box_muller(w.w0, w.w1, z0, z1);
        d[0] = philox::affine(mean, stddev, z0);
        if (i + 1 < n) d[1] = philox::affine(mean, stddev, z1);
        if (i + 2 < n)
        {
            float z2, z3;
            philox::box_muller(w.w2, w.w3, z2, z3);
            d[2] = philox::affine(mean, stddev, z2);
            if (i + 3 < n) d[3] = philox::affine(mean, stddev, z3);
        }
    }
}

extern "C" __global__ void philox_normal_f64(double* dst, long long n, unsigned long long seed, unsigned long long offset,
    double mean, double stddev)
{
    long long blocks = (n + 1) / 2;
    GRID_STRIDE_LOOP(b, blocks)
    {
        philox::Words w = philox::block(seed, offset + (unsigned long long)b);
        long long i = b * 2;
        double z0, z1;
        philox::box_muller(w, z0, z1);
        dst[i] = philox::affine(mean, stddev, z0);
        if (i + 1 < n) dst[i + 1] = philox::affine(mean, stddev, z1);
    }
}
