// EMA codebook update (Ops.VqEmaUpdate) on every device row: several steps against the formulas
// written out in double (VqReference.Ema), with and without dead-code restarts; restarts copy the
// documented Philox row, are reproducible for a (seed, offset) and move with the offset; accelerator
// rows are bitwise equal to the CPU backend (the update's arithmetic is spelled out on both).
using Engine.Random;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Vq.VqReference;

namespace Engine.Tests.Vq;

public class VqEmaTests
{
    public static TheoryData<string, string> Rows() => DeviceDTypeRows();

    private static int RestartRow(ulong seed, ulong offset, int code, int n)
    {
        var (w0, _, _, _) = Philox.Block(seed, offset + (ulong)code);
        return (int)(((ulong)w0 * (ulong)n) >> 32);
    }

    private sealed class State(Tensor codebook, Tensor clusterSize, Tensor embedSum)
    {
        public Tensor Codebook { get; } = codebook;
        public Tensor ClusterSize { get; } = clusterSize;
        public Tensor EmbedSum { get; } = embedSum;
        public EmaState Read(int[] counts) => new(Get(Codebook), Get(ClusterSize), Get(EmbedSum), counts);
    }

    private static State Init(EmaState s, int k, int d, DType dt, Device dev)
        => new(Put(s.Codebook, [k, d], dt, dev), Put(s.ClusterSize, [k], dt, dev), Put(s.EmbedSum, [k, d], dt, dev));

    /// <summary>Runs `steps` EMA updates on dev and on the reference; checks each step.</summary>
    private static void Run(string device, string dtype, double threshold, string test)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        int n = 290, k = 24, d = 6;
        const double decay = 0.9, eps = 1e-5;
        const ulong seed = 0xC0FFEE;
        var rng = TestData.Rng(test);
        var e0 = Round(Normal(rng, k * d), dt);
        var refState = new EmaState(e0, Round(Enumerable.Range(0, k).Select(c => 0.5 + rng.NextDouble()).ToArray(), dt), Round(e0.Select(v => v * 0.7).ToArray(), dt), new int[k]);
        using var scope = TensorScope.Begin();
        var st = Init(refState, k, d, dt, dev);
        var cpu = dev == Device.Cpu ? null : Init(refState, k, d, dt, Device.Cpu);
        for (int step = 0; step < 4; step++)
        {
            string head = $"step {step} (N={n} K={k} D={d} decay {decay} eps {eps} threshold {threshold}) [{dtype}] on {device}";
            var x = Round(Normal(rng, n * d), dt);
            // Codes 0..7 only: codes 8.. receive nothing and decay towards the restart threshold.
            var idx = Enumerable.Range(0, n).Select(_ => rng.Next(8)).ToArray();
            ulong offset = (ulong)(step * k);
            var p = new VqEmaParams(decay, eps, threshold, seed, offset);
            var counts = GetIdx(Ops.VqEmaUpdate(Put(x, [n, d], dt, dev), PutIdx(idx, dev), st.Codebook, st.ClusterSize, st.EmbedSum, p));
            var want = Ema(x, idx, k, d, refState, decay, eps, threshold, c => RestartRow(seed, offset, c, n));
            var got = st.Read(counts);
            Assert.Equal(want.Counts, got.Counts);
            double rtol = dt == DType.F32 ? 2e-5 : 1e-12;
            AssertClose(want.ClusterSize, got.ClusterSize, rtol, rtol, $"{head}: cluster sizes");
            AssertClose(want.EmbedSum, got.EmbedSum, rtol, rtol, $"{head}: embedding sums");
            AssertClose(want.Codebook, got.Codebook, rtol * 10, rtol * 10, $"{head}: codebook");
            int restarted = Enumerable.Range(0, k).Count(c => want.ClusterSize[c] == threshold);
            if (threshold > 0 && step >= 2) Assert.True(restarted > 0, $"{head}: no code was restarted: the case does not exercise restarts");
            for (int c = 0; c < k && threshold > 0; c++)
            {
                if (want.ClusterSize[c] != threshold) continue;
                int r = RestartRow(seed, offset, c, n);
                for (int j = 0; j < d; j++)
                    Assert.True(got.Codebook[c * d + j] == x[r * d + j], $"{head}: restarted code {c} is not row {r}");
            }
            if (cpu != null)
            {
                var cc = GetIdx(Ops.VqEmaUpdate(Put(x, [n, d], dt, Device.Cpu), PutIdx(idx, Device.Cpu), cpu.Codebook, cpu.ClusterSize, cpu.EmbedSum, p));
                var cs = cpu.Read(cc);
                AssertSameBits(cs.ClusterSize, got.ClusterSize, $"{head}: cluster sizes vs the cpu backend");
                AssertSameBits(cs.EmbedSum, got.EmbedSum, $"{head}: embedding sums vs the cpu backend");
                AssertSameBits(cs.Codebook, got.Codebook, $"{head}: codebook vs the cpu backend");
            }
            // Continue from what the op produced (rounded to the dtype), so errors do not compound.
            refState = got;
        }
    }

    [Theory, MemberData(nameof(Rows))]
    public void MatchesTheReferenceFormulas(string device, string dtype) => Run(device, dtype, 0, nameof(MatchesTheReferenceFormulas));

    [Theory, MemberData(nameof(Rows))]
    public void MatchesTheReferenceWithDeadCodeRestarts(string device, string dtype) => Run(device, dtype, 0.6, nameof(MatchesTheReferenceWithDeadCodeRestarts));

    [Theory, MemberData(nameof(Rows))]
    public void RestartsAreReproducibleAndFollowTheOffset(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        using var scope = TensorScope.Begin();
        int n = 1000, k = 64, d = 4;
        var rng = TestData.Rng(nameof(RestartsAreReproducibleAndFollowTheOffset));
        var x = Round(Normal(rng, n * d), dt);
        var idx = Enumerable.Range(0, n).Select(i => i % 3).ToArray(); // 61 dead codes
        var e0 = Round(Normal(rng, k * d), dt);
        double[] Update(ulong seed, ulong offset)
        {
            var cb = Put(e0, [k, d], dt, dev);
            var cs = Put(new double[k], [k], dt, dev);
            var es = Put(e0, [k, d], dt, dev);
            Ops.VqEmaUpdate(Put(x, [n, d], dt, dev), PutIdx(idx, dev), cb, cs, es, new VqEmaParams(0.99, 1e-5, 1.0, seed, offset));
            return Get(cb);
        }
        var a = Update(7, 100);
        AssertSameBits(a, Update(7, 100), $"[{dtype}] on {device}: same (seed, offset) twice");
        var b = Update(7, 100 + (ulong)k);
        var c = Update(8, 100);
        int movedB = Enumerable.Range(3, k - 3).Count(code => a[code * d] != b[code * d]);
        int movedC = Enumerable.Range(3, k - 3).Count(code => a[code * d] != c[code * d]);
        Assert.True(movedB > 50 && movedC > 50, $"[{dtype}] on {device}: another offset / seed moved only {movedB} / {movedC} of 61 restarted codes");
        for (int code = 3; code < k; code++)
        {
            int r = RestartRow(7, 100, code, n);
            for (int j = 0; j < d; j++) Assert.True(a[code * d + j] == x[r * d + j], $"[{dtype}] on {device}: code {code} is not row {r}");
        }
        if (dev != Device.Cpu)
        {
            var cb = Put(e0, [k, d], dt, Device.Cpu);
            Ops.VqEmaUpdate(Put(x, [n, d], dt, Device.Cpu), PutIdx(idx, Device.Cpu), cb, Put(new double[k], [k], dt, Device.Cpu), Put(e0, [k, d], dt, Device.Cpu),
                new VqEmaParams(0.99, 1e-5, 1.0, 7, 100));
            AssertSameBits(Get(cb), a, $"[{dtype}] on {device}: restarted codebook vs the cpu backend");
        }
    }
}
