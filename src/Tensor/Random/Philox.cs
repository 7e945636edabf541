// Philox4x32-10 counter-based generator (Salmon et al., SC'11), the stream shared by every backend.
//
// (seed, offset) semantics. key = (seed & 0xffffffff, seed >> 32). Block b of a draw is
// Philox(counter = (lo32(offset + b), hi32(offset + b), 0, 0), key) -> four 32-bit words.
//   f32 uniform: element i uses block i/4, word i%4: u = (w >> 8) * 2^-24 in [0, 1).
//   f64 uniform: element i uses block i/2, words (2(i%2), 2(i%2)+1) as (lo, hi):
//                u = ((hi << 32 | lo) >> 11) * 2^-53 in [0, 1).
//   f32 normal:  element i uses block i/4; lanes (0,1) come from words (w0, w1), lanes (2,3)
//                from (w2, w3) by Box-Muller: u1 = ((wa >> 8) + 1) * 2^-24 in (0, 1],
//                u2 = (wb >> 8) * 2^-24, r = sqrt(-2 ln u1), z = (r cos 2 pi u2, r sin 2 pi u2).
//   f64 normal:  element i uses block i/2; the two 53-bit uniforms of the block (as for f64
//                uniform, u1 shifted to (0, 1]) give lanes 0 and 1.
// A draw of n elements consumes BlocksUsed(n, dtype) counter values, so a caller that advances
// its offset by that amount never reuses a block. The CUDA kernels reproduce this mapping: uniform
// bits are identical, normals agree up to the rounding of log/sqrt/sin/cos.
using System.Runtime.CompilerServices;

namespace Engine.Random;

public static class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57, W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private const float F24 = 1.0f / (1 << 24);
    private const double F53 = 1.0 / (1L << 53);

    /// <summary>One Philox4x32-10 block: ten rounds over the counter, key bumped between rounds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (uint, uint, uint, uint) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int r = 0; r < 10; r++)
        {
            if (r > 0) { k0 += W0; k1 += W1; }
            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0, hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0);
        }
        return (c0, c1, c2, c3);
    }

    /// <summary>Block number <paramref name="block"/> of the stream for <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (uint, uint, uint, uint) Block(ulong seed, ulong block)
        => Block((uint)block, (uint)(block >> 32), 0, 0, (uint)seed, (uint)(seed >> 32));

    /// <summary>Counter values consumed by a draw of n elements of the given element size (4 or 8 bytes).</summary>
    public static ulong BlocksUsed(long n, int elementBytes) => elementBytes == 4 ? (ulong)(n + 3) / 4 : (ulong)(n + 1) / 2;

    public static void FillUniform(Span<float> dst, ulong seed, ulong offset, float lo, float hi)
    {
        float scale = hi - lo;
        for (int i = 0; i < dst.Length; i += 4)
        {
            var (a, b, c, d) = Block(seed, offset + (ulong)(i / 4));
            int n = Math.Min(4, dst.Length - i);
            dst[i] = lo + scale * ((a >> 8) * F24);
            if (n > 1) dst[i + 1] = lo + scale * ((b >> 8) * F24);
            if (n > 2) dst[i + 2] = lo + scale * ((c >> 8) * F24);
            if (n > 3) dst[i + 3] = lo + scale * ((d >> 8) * F24);
        }
    }

    public static void FillUniform(Span<double> dst, ulong seed, ulong offset, double lo, double hi)
    {
        double scale = hi - lo;
        for (int i = 0; i < dst.Length; i += 2)
        {
            var (a, b, c, d) = Block(seed, offset + (ulong)(i / 2));
            dst[i] = lo + scale * (Bits53(a, b) * F53);
            if (i + 1 < dst.Length) dst[i + 1] = lo + scale * (Bits53(c, d) * F53);
        }
    }

    public static void FillNormal(Span<float> dst, ulong seed, ulong offset, float mean, float std)
    {
        for (int i = 0; i < dst.Length; i += 4)
        {
            var (a, b, c, d) = Block(seed, offset + (ulong)(i / 4));
            int n = Math.Min(4, dst.Length - i);
            var (z0, z1) = BoxMuller(a, b);
            dst[i] = mean + std * z0;
            if (n > 1) dst[i + 1] = mean + std * z1;
            if (n > 2)
            {
                var (z2, z3) = BoxMuller(c, d);
                dst[i + 2] = mean + std * z2;
                if (n > 3) dst[i + 3] = mean + std * z3;
            }
        }
    }

    public static void FillNormal(Span<double> dst, ulong seed, ulong offset, double mean, double std)
    {
        for (int i = 0; i < dst.Length; i += 2)
        {
            var (a, b, c, d) = Block(seed, offset + (ulong)(i / 2));
            double u1 = (Bits53(a, b) + 1) * F53, u2 = Bits53(c, d) * F53;
            double r = Math.Sqrt(-2 * Math.Log(u1));
            var (s, co) = Math.SinCos(2 * Math.PI * u2);
            dst[i] = mean + std * (r * co);
            if (i + 1 < dst.Length) dst[i + 1] = mean + std * (r * s);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Bits53(uint lo, uint hi) => (((ulong)hi << 32) | lo) >> 11;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (float, float) BoxMuller(uint a, uint b)
    {
        float u1 = ((a >> 8) + 1) * F24, u2 = (b >> 8) * F24;
        float r = MathF.Sqrt(-2f * MathF.Log(u1));
        var (s, c) = MathF.SinCos(2f * MathF.PI * u2);
        return (r * c, r * s);
    }
}
