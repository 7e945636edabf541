// Philox4x32-10: the Random123 known-answer vectors, the documented (seed, offset) element mapping,
// offset arithmetic (a draw at offset o equals the tail of a longer draw at 0), ranges, the
// moments of uniform and normal draws, and the accelerator rows (real GPU, host emulation): uniform
// draws bitwise equal to the CPU's, normals within the rounding of log/sqrt/sin/cos.
using Engine.Random;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Kernels;

public class PhiloxTests
{
    // Random123 tests/kat_vectors, "philox4x32 10" lines: counter[4] key[2] -> result[4].
    [Theory]
    [InlineData(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void KnownAnswerVectors(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint r0, uint r1, uint r2, uint r3)
    {
        Assert.Equal((r0, r1, r2, r3), Philox.Block(c0, c1, c2, c3, k0, k1));
    }

    [Fact]
    public void UniformF32FollowsTheDocumentedMapping()
    {
        ulong seed = 0x1234_5678_9abc_def0, offset = 7;
        var u = new float[10];
        Philox.FillUniform(u, seed, offset, 0f, 1f);
        for (int i = 0; i < u.Length; i++)
        {
            var (a, b, c, d) = Philox.Block((uint)(offset + (ulong)i / 4), 0, 0, 0, 0x9abcdef0u, 0x12345678u);
            uint w = (i % 4) switch { 0 => a, 1 => b, 2 => c, _ => d };
            Assert.Equal((w >> 8) / 16777216f, u[i]);
        }
    }

    [Fact]
    public void UniformF64FollowsTheDocumentedMapping()
    {
        var u = new double[5];
        Philox.FillUniform(u, 42, 3, 0.0, 1.0);
        for (int i = 0; i < u.Length; i++)
        {
            var (a, b, c, d) = Philox.Block(42, 3 + (ulong)i / 2);
            ulong bits = i % 2 == 0 ? ((ulong)b << 32 | a) : ((ulong)d << 32 | c);
            Assert.Equal((bits >> 11) / 9007199254740992.0, u[i]);
        }
    }

    [Fact]
    public void OffsetSelectsTheTailOfTheStream()
    {
        foreach (int n in new[] { 1, 5, 16, 1001 })
        {
            var full = new float[n + 40];
            Philox.FillUniform(full, 9, 0, -1f, 1f);
            var tail = new float[n];
            Philox.FillUniform(tail, 9, 10, -1f, 1f); // 10 blocks = 40 f32 elements
            Assert.Equal(full[40..], tail);
            var nf = new double[n + 20];
            Philox.FillNormal(nf, 9, 0, 0.0, 1.0);
            var nt = new double[n];
            Philox.FillNormal(nt, 9, 10, 0.0, 1.0); // 10 blocks = 20 f64 normals
            Assert.Equal(nf[20..], nt);
        }
        Assert.Equal(3UL, Philox.BlocksUsed(9, 4));
        Assert.Equal(5UL, Philox.BlocksUsed(9, 8));
    }

    [Fact]
    public void DifferentSeedsGiveDifferentStreams()
    {
        var a = new float[64]; var b = new float[64];
        Philox.FillUniform(a, 1, 0, 0f, 1f);
        Philox.FillUniform(b, 2, 0, 0f, 1f);
        Assert.NotEqual(a, b);
        Philox.FillUniform(b, 1UL << 32 | 1, 0, 0f, 1f); // the high key word matters
        Assert.NotEqual(a, b);
    }

    [Fact]
    public void UniformRangeAndMoments()
    {
        var u = new float[200_000];
        Philox.FillUniform(u, 5, 0, 2f, 4f);
        Assert.All(u, v => Assert.InRange(v, 2f, 4f));
        Assert.True(u.All(v => v < 4f));
        double mean = u.Average(v => (double)v), var = u.Average(v => (v - mean) * (v - mean));
        Assert.InRange(mean, 3 - 0.01, 3 + 0.01);          // 5 sigma of the sample mean is 0.0065
        Assert.InRange(var, 1 / 3.0 - 0.005, 1 / 3.0 + 0.005);
    }

    [Fact]
    public void NormalMomentsF32AndF64()
    {
        var f = new float[200_000];
        Philox.FillNormal(f, 11, 0, 1f, 2f);
        Assert.All(f, v => Assert.True(float.IsFinite(v)));
        CheckMoments(f.Select(v => (double)v).ToArray(), 1, 2);
        var d = new double[200_000];
        Philox.FillNormal(d, 11, 0, -3.0, 0.5);
        CheckMoments(d, -3, 0.5);
    }

    private static void CheckMoments(double[] x, double mean, double std)
    {
        double m = x.Average(), v = x.Average(t => (t - m) * (t - m));
        double skew = x.Average(t => Math.Pow((t - m), 3)) / Math.Pow(v, 1.5);
        double kurt = x.Average(t => Math.Pow((t - m), 4)) / (v * v);
        Assert.InRange(m, mean - 0.015 * std, mean + 0.015 * std);
        Assert.InRange(Math.Sqrt(v), std * 0.99, std * 1.01);
        Assert.InRange(skew, -0.03, 0.03);
        Assert.InRange(kurt, 2.94, 3.06);
        double tail = x.Count(t => Math.Abs(t - mean) > 2 * std) / (double)x.Length; // 4.55%
        Assert.InRange(tail, 0.0425, 0.0485);
    }

    // ------------------------------------------------------------------ device rows
    /// <summary>(seed, offset, n): n not a multiple of 4 (nor of 2), offsets whose counter carries
    /// into the high word (and past 2^64), draws larger than one grid-stride pass of the emulator.</summary>
    public static TheoryData<string, ulong, ulong, int> DeviceDraws()
    {
        var r = new TheoryData<string, ulong, ulong, int>();
        (ulong seed, ulong offset, int n)[] cases =
        [
            (0, 0, 1), (1, 0, 3), (42, 5, 7), (0x1234_5678_9abc_def0, 7, 1001),
            (9, (1UL << 32) - 3, 37), (0xffff_ffff_ffff_ffff, (1UL << 40) + 5, 130),
            (77, ulong.MaxValue - 2, 21), (2024, 123_456_789_012, 70_003),
        ];
        foreach (var row in TestDevices.Accelerators)
            foreach (var (seed, offset, n) in cases) r.Add(row, seed, offset, n);
        return r;
    }

    [Theory]
    [MemberData(nameof(DeviceDraws))]
    public void UniformOnDeviceIsBitwiseTheCpuStream(string device, ulong seed, ulong offset, int n)
    {
        var dev = TestDevices.Get(device);
        using var scope = TensorScope.Begin();
        foreach (var (lo, hi) in new[] { (0.0, 1.0), (-2.0, 3.5) })
        {
            var cf = Tensor.Uniform([n], seed, offset, lo, hi, DType.F32).ToArray<float>();
            var gf = Tensor.Uniform([n], seed, offset, lo, hi, DType.F32, dev).To(Device.Cpu).ToArray<float>();
            int bad = FirstDiff(n, i => BitConverter.SingleToInt32Bits(cf[i]) != BitConverter.SingleToInt32Bits(gf[i]));
            Assert.True(bad < 0, bad < 0 ? "" : $"uniform f32 [{lo}, {hi}) seed 0x{seed:x} offset {offset} n {n} on {device}: first mismatch at {bad}: {device} {gf[bad]:R}, cpu {cf[bad]:R}");
            var cd = Tensor.Uniform([n], seed, offset, lo, hi, DType.F64).ToArray<double>();
            var gd = Tensor.Uniform([n], seed, offset, lo, hi, DType.F64, dev).To(Device.Cpu).ToArray<double>();
            bad = FirstDiff(n, i => BitConverter.DoubleToInt64Bits(cd[i]) != BitConverter.DoubleToInt64Bits(gd[i]));
            Assert.True(bad < 0, bad < 0 ? "" : $"uniform f64 [{lo}, {hi}) seed 0x{seed:x} offset {offset} n {n} on {device}: first mismatch at {bad}: {device} {gd[bad]:R}, cpu {cd[bad]:R}");
        }
    }

    [Theory]
    [MemberData(nameof(DeviceDraws))]
    public void NormalOnDeviceMatchesTheCpuStream(string device, ulong seed, ulong offset, int n)
    {
        var dev = TestDevices.Get(device);
        using var scope = TensorScope.Begin();
        foreach (var (mean, std) in new[] { (0.0, 1.0), (1.5, 0.25) })
        {
            var cf = Tensor.Normal([n], seed, offset, mean, std, DType.F32).ToArray<float>();
            var gf = Tensor.Normal([n], seed, offset, mean, std, DType.F32, dev).To(Device.Cpu).ToArray<float>();
            int bad = FirstDiff(n, i => !(Math.Abs(gf[i] - cf[i]) <= 1e-5));
            Assert.True(bad < 0, bad < 0 ? "" : $"normal f32 ({mean}, {std}) seed 0x{seed:x} offset {offset} n {n} on {device}: first mismatch at {bad}: {device} {gf[bad]:R}, cpu {cf[bad]:R} (tolerance 1e-5 abs)");
            var cd = Tensor.Normal([n], seed, offset, mean, std, DType.F64).ToArray<double>();
            var gd = Tensor.Normal([n], seed, offset, mean, std, DType.F64, dev).To(Device.Cpu).ToArray<double>();
            bad = FirstDiff(n, i => !(Math.Abs(gd[i] - cd[i]) <= 1e-12));
            Assert.True(bad < 0, bad < 0 ? "" : $"normal f64 ({mean}, {std}) seed 0x{seed:x} offset {offset} n {n} on {device}: first mismatch at {bad}: {device} {gd[bad]:R}, cpu {cd[bad]:R} (tolerance 1e-12 abs)");
        }
    }

    private static int FirstDiff(int n, Func<int, bool> differs)
    {
        for (int i = 0; i < n; i++) if (differs(i)) return i;
        return -1;
    }
}

public class PhiloxVectorTests
{
    /// <summary>The SIMD block generator (AVX-512 / AVX2 lanes, scalar tail) equals the scalar rounds,
    /// including counters that carry into the high word and seeds with both key halves set.</summary>
    [Theory]
    [InlineData(0UL, 0UL, 128)]
    [InlineData(0x123456789abcdefUL, 0xfffffff0UL, 128)]
    [InlineData(42UL, ulong.MaxValue - 5, 13)]
    [InlineData(7UL, 1UL << 40, 3)]
    public void SimdBlocksEqualTheScalarRounds(ulong seed, ulong b0, int n)
    {
        var w = new ulong[4][];
        for (int k = 0; k < 4; k++) w[k] = new ulong[n];
        Engine.Random.Philox.Blocks(seed, b0, w[0], w[1], w[2], w[3]);
        for (int j = 0; j < n; j++)
        {
            var (a, b, c, d) = Engine.Random.Philox.Block(seed, b0 + (ulong)j);
            Assert.Equal(((ulong)a, (ulong)b, (ulong)c, (ulong)d), (w[0][j], w[1][j], w[2][j], w[3][j]));
        }
    }

    /// <summary>f32 normals do not depend on how a stream is cut: a prefix equals a shorter draw and a
    /// tile equals a draw at its own offset (the chunked SIMD path computes every element the same way).</summary>
    [Fact]
    public void NormalsDoNotDependOnTheCut()
    {
        var all = new float[2000];
        Engine.Random.Philox.FillNormal(all, 9, 11, 0f, 1f);
        foreach (var (start, len) in new[] { (0, 1), (0, 7), (4, 513), (1024, 976), (1996, 4) })
        {
            var part = new float[len];
            Engine.Random.Philox.FillNormal(part, 9, 11 + (ulong)(start / 4), 0f, 1f);
            Assert.Equal(all.AsSpan(start, len).ToArray(), part);
        }
    }
}
