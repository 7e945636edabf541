// Philox4x32-10 draws (CudaBackend.Random.cs), the exact stream of Engine.Random.Philox (the block
// function philox::block lives in common.cuh, shared with vq.cu's dead-code restarts):
// key = (lo32(seed), hi32(seed)); block b = Philox(counter = (lo32(offset + b), hi32(offset + b), 0, 0)).
//   f32: element i uses block i / 4, word i % 4;  f64: element i uses block i / 2, words 2(i % 2), 2(i % 2) + 1.
// One thread per Philox block writes its 4 (f32) or 2 (f64) elements; the tail block is guarded.
// Uniform values are bitwise equal to the CPU: lo + scale * u is evaluated as two separately rounded
// operations (__fmul_rn / __fadd_rn, never an FMA), u is exact. Normals use the same Box-Muller form
// (r = sqrt(-2 ln u1), (r cos 2 pi u2, r sin 2 pi u2)) and agree up to the rounding of log/sqrt/sin/cos.

namespace philox
{

// 2^-24 and 2^-53, exact.
#define PHILOX_F24 5.9604644775390625e-08f
#define PHILOX_F53 1.1102230246251565404236316680908203125e-16

__device__ __forceinline__ float u24(unsigned int w) { return __fmul_rn((float)(w >> 8), PHILOX_F24); }

__device__ __forceinline__ double u53(unsigned int lo, unsigned int hi)
{
    unsigned long long bits = (((unsigned long long)hi << 32) | lo) >> 11;
    return __dmul_rn((double)bits, PHILOX_F53);
}

__device__ __forceinline__ float affine(float lo, float scale, float u) { return __fadd_rn(lo, __fmul_rn(scale, u)); }
__device__ __forceinline__ double affine(double lo, double scale, double u) { return __dadd_rn(lo, __dmul_rn(scale, u)); }

// Box-Muller on two words: u1 = ((a >> 8) + 1) * 2^-24 in (0, 1], u2 = (b >> 8) * 2^-24.
__device__ __forceinline__ void box_muller(unsigned int a, unsigned int b, float& z0, float& z1)
{
    float u1 = __fmul_rn((float)((a >> 8) + 1u), PHILOX_F24), u2 = u24(b);
    float r = sqrtf(__fmul_rn(-2.0f, logf(u1)));
    float t = __fmul_rn(2.0f * 3.14159265358979323846f, u2); // (2 * (float)pi) * u2, as the CPU
    z0 = __fmul_rn(r, cosf(t));
    z1 = __fmul_rn(r, sinf(t));
}

} // namespace philox

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
        unsigned long long b1 = ((((unsigned long long)w.w1 << 32) | w.w0) >> 11) + 1ull;
        double u1 = __dmul_rn((double)b1, PHILOX_F53), u2 = philox::u53(w.w2, w.w3);
        double r = sqrt(__dmul_rn(-2.0, log(u1)));
        double t = __dmul_rn(2.0 * 3.14159265358979323846, u2); // (2 * Math.PI) * u2, as the CPU
        dst[i] = philox::affine(mean, stddev, __dmul_rn(r, cos(t)));
        if (i + 1 < n) dst[i + 1] = philox::affine(mean, stddev, __dmul_rn(r, sin(t)));
    }
}
