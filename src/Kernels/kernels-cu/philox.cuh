// Philox4x32-10 device functions shared by the kernel files that draw from the engine's stream
// (random.cu: plain draws; gaussian.cu: reparameterized samples and dequantization noise, whose
// backward passes regenerate the same numbers). The mapping is Engine.Random.Philox's:
// key = (lo32(seed), hi32(seed)); block b = Philox(counter = (lo32(offset + b), hi32(offset + b), 0, 0)).
//   f32: element i uses block i / 4, word i % 4;  f64: element i uses block i / 2, words 2(i % 2), 2(i % 2) + 1.
// Uniform values are exact (u24 / u53); normals use the CPU's Box-Muller form and agree with it up to
// the rounding of log/sqrt/sin/cos. The kernel library inlines this file where a .cu file includes it
// (KernelLibrary.InlineIncludes); the host emulation compiles the #include as it stands.
#pragma once

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

// f64 Box-Muller on one block: u1 = (bits53(w0, w1) + 1) * 2^-53 in (0, 1], u2 = bits53(w2, w3) * 2^-53.
__device__ __forceinline__ void box_muller(const Words& w, double& z0, double& z1)
{
    unsigned long long b1 = ((((unsigned long long)w.w1 << 32) | w.w0) >> 11) + 1ull;
    double u1 = __dmul_rn((double)b1, PHILOX_F53), u2 = u53(w.w2, w.w3);
    double r = sqrt(__dmul_rn(-2.0, log(u1)));
    double t = __dmul_rn(2.0 * 3.14159265358979323846, u2); // (2 * Math.PI) * u2, as the CPU
    z0 = __dmul_rn(r, cos(t));
    z1 = __dmul_rn(r, sin(t));
}

} // namespace philox
