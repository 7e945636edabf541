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
//                The CPU evaluates ln, sqrt, sin and cos with TensorPrimitives' vectorized forms over
//                whole fixed-size chunks, so an element's value does not depend on the draw's length.
//   f64 normal:  element i uses block i/2; the two 53-bit uniforms of the block (as for f64
//                uniform, u1 shifted to (0, 1]) give lanes 0 and 1.
// A draw of n elements consumes BlocksUsed(n, dtype) counter values, so a caller that advances
// its offset by that amount never reuses a block. The CUDA kernels reproduce this mapping: uniform
// bits are identical, normals agree up to the rounding of log/sqrt/sin/cos.
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    /// <summary>Pairs of normals per chunk. The chunk is always computed whole, so every element goes
    /// through the same vectorized log / sqrt / sin / cos whatever the length or start of the draw (a
    /// draw's prefix equals a shorter draw; a tile of a larger draw equals a draw at its offset).</summary>
    private const int ChunkPairs = 256;

    /// <summary>Blocks b0 .. b0 + w0.Length - 1 of the stream, word k of block j in wk[j] (low 32 bits):
    /// eight (AVX-512) or four (AVX2) blocks per step with 32x32->64-bit multiplies, else scalar.</summary>
    internal static unsafe void Blocks(ulong seed, ulong b0, Span<ulong> w0, Span<ulong> w1, Span<ulong> w2, Span<ulong> w3)
    {
        int n = w0.Length, j = 0;
        uint key0 = (uint)seed, key1 = (uint)(seed >> 32);
        if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
        {
            var lo32 = System.Runtime.Intrinsics.Vector512.Create(0xffffffffUL);
            var m0 = System.Runtime.Intrinsics.Vector512.Create((ulong)M0).AsUInt32();
            var m1 = System.Runtime.Intrinsics.Vector512.Create((ulong)M1).AsUInt32();
            var lane = System.Runtime.Intrinsics.Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
            for (; j + 8 <= n; j += 8)
            {
                var ctr = System.Runtime.Intrinsics.Vector512.Create(b0 + (ulong)j) + lane;
                var c0 = ctr & lo32; var c1 = ctr >> 32;
                var c2 = System.Runtime.Intrinsics.Vector512<ulong>.Zero; var c3 = c2;
                uint k0 = key0, k1 = key1;
                for (int r = 0; r < 10; r++)
                {
                    if (r > 0) { k0 += W0; k1 += W1; }
                    var p0 = System.Runtime.Intrinsics.X86.Avx512F.Multiply(m0, c0.AsUInt32());
                    var p1 = System.Runtime.Intrinsics.X86.Avx512F.Multiply(m1, c2.AsUInt32());
                    var n0 = (p1 >> 32) ^ c1 ^ System.Runtime.Intrinsics.Vector512.Create((ulong)k0);
                    var n2 = (p0 >> 32) ^ c3 ^ System.Runtime.Intrinsics.Vector512.Create((ulong)k1);
                    c1 = p1 & lo32; c3 = p0 & lo32; c0 = n0; c2 = n2;
                }
                fixed (ulong* a = w0, b = w1, c = w2, d = w3)
                {
                    c0.Store(a + j); c1.Store(b + j); c2.Store(c + j); c3.Store(d + j);
                }
            }
        }
        else if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            var lo32 = System.Runtime.Intrinsics.Vector256.Create(0xffffffffUL);
            var m0 = System.Runtime.Intrinsics.Vector256.Create((ulong)M0).AsUInt32();
            var m1 = System.Runtime.Intrinsics.Vector256.Create((ulong)M1).AsUInt32();
            var lane = System.Runtime.Intrinsics.Vector256.Create(0UL, 1, 2, 3);
            for (; j + 4 <= n; j += 4)
            {
                var ctr = System.Runtime.Intrinsics.Vector256.Create(b0 + (ulong)j) + lane;
                var c0 = ctr & lo32; var c1 = ctr >> 32;
                var c2 = System.Runtime.Intrinsics.Vector256<ulong>.Zero; var c3 = c2;
                uint k0 = key0, k1 = key1;
                for (int r = 0; r < 10; r++)
                {
                    if (r > 0) { k0 += W0; k1 += W1; }
                    var p0 = System.Runtime.Intrinsics.X86.Avx2.Multiply(m0, c0.AsUInt32());
                    var p1 = System.Runtime.Intrinsics.X86.Avx2.Multiply(m1, c2.AsUInt32());
                    var n0 = (p1 >> 32) ^ c1 ^ System.Runtime.Intrinsics.Vector256.Create((ulong)k0);
                    var n2 = (p0 >> 32) ^ c3 ^ System.Runtime.Intrinsics.Vector256.Create((ulong)k1);
                    c1 = p1 & lo32; c3 = p0 & lo32; c0 = n0; c2 = n2;
                }
                fixed (ulong* a = w0, b = w1, c = w2, d = w3)
                {
                    c0.Store(a + j); c1.Store(b + j); c2.Store(c + j); c3.Store(d + j);
                }
            }
        }
        for (; j < n; j++)
        {
            var (a, b, c, d) = Block(seed, b0 + (ulong)j);
            w0[j] = a; w1[j] = b; w2[j] = c; w3[j] = d;
        }
    }

    public static void FillNormal(Span<float> dst, ulong seed, ulong offset, float mean, float std)
    {
        if (dst.IsEmpty) return;
        Span<float> u1 = stackalloc float[ChunkPairs], u2 = stackalloc float[ChunkPairs];
        Span<float> r = stackalloc float[ChunkPairs], sin = stackalloc float[ChunkPairs], cos = stackalloc float[ChunkPairs];
        Span<ulong> w0 = stackalloc ulong[ChunkPairs / 2], w1 = stackalloc ulong[ChunkPairs / 2], w2 = stackalloc ulong[ChunkPairs / 2], w3 = stackalloc ulong[ChunkPairs / 2];
        const float twoPi = 2f * MathF.PI;
        for (int e0 = 0; e0 < dst.Length; e0 += 2 * ChunkPairs)
        {
            // Pair p of the chunk: block e0 / 4 + p / 2, words (w0, w1) for even p and (w2, w3) for odd p.
            ulong b0 = offset + (ulong)(e0 / 4);
            Blocks(seed, b0, w0, w1, w2, w3);
            for (int p = 0; p < ChunkPairs; p += 2)
            {
                int j = p >> 1;
                u1[p] = (((uint)w0[j] >> 8) + 1) * F24; u2[p] = ((uint)w1[j] >> 8) * F24;
                u1[p + 1] = (((uint)w2[j] >> 8) + 1) * F24; u2[p + 1] = ((uint)w3[j] >> 8) * F24;
            }
            // r = sqrt(-2 ln u1), t = 2 pi u2, each step rounded to float as the GPU kernels do.
            // (TensorPrimitives.Sin and Cos are vectorized; SinCos is a scalar loop: 6x slower, measured.)
            System.Numerics.Tensors.TensorPrimitives.Log(u1, r);
            System.Numerics.Tensors.TensorPrimitives.Multiply(r, -2f, r);
            System.Numerics.Tensors.TensorPrimitives.Sqrt(r, r);
            System.Numerics.Tensors.TensorPrimitives.Multiply(u2, twoPi, u2);
            System.Numerics.Tensors.TensorPrimitives.Sin(u2, sin);
            System.Numerics.Tensors.TensorPrimitives.Cos(u2, cos);
            int n = Math.Min(2 * ChunkPairs, dst.Length - e0);
            var d0 = dst.Slice(e0, n);
            for (int i = 0; i < n; i++)
            {
                int p = i >> 1;
                float z = r[p] * ((i & 1) == 0 ? cos[p] : sin[p]);
                d0[i] = mean + std * z;
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
}
