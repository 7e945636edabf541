// The other VQ ops on every device row: gather and its backward (the per-code row sum, bitwise equal
// to the documented order on every backend, with a heavy code spanning several ranking chunks and
// unused codes), code counts and perplexity (closed forms), the squared-error loss value and its
// fused backward (bitwise equal to the elementwise formula), and bad index values.
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Vq.VqReference;

namespace Engine.Tests.Vq;

public class VqOpsDeviceTests
{
    public static TheoryData<string, string> Rows() => DeviceDTypeRows();

    /// <summary>Codes for n rows: code 5 takes about half of them (a long segment), codes k-1 and 0 none.</summary>
    private static int[] Codes(System.Random rng, int n, int k)
    {
        var idx = new int[n];
        for (int i = 0; i < n; i++) idx[i] = rng.Next(2) == 0 ? 5 : rng.Next(1, k - 1);
        return idx;
    }

    [Theory, MemberData(nameof(Rows))]
    public void GatherAndSegmentSumFollowTheDocumentedOrder(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        foreach (var (n, k, d) in new[] { (700, 37, 13), (5, 300, 3), (0, 4, 2), (1, 1, 1) })
        {
            using var scope = TensorScope.Begin();
            string head = $"N={n} K={k} D={d} [{dtype}] on {device}";
            var rng = TestData.Rng(nameof(GatherAndSegmentSumFollowTheDocumentedOrder), n + k);
            var src = Round(Normal(rng, n * d), dt);
            var idx = k > 2 ? Codes(rng, n, k) : new int[n];
            var e = Round(Normal(rng, k * d), dt);

            var q = Ops.VqGather(Put(e, [k, d], dt, dev), PutIdx(idx, dev));
            Assert.Equal([n, d], q.Shape);
            var gq = Get(q);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++)
                    Assert.True(gq[i * d + j] == e[idx[i] * d + j], $"{head}: gather row {i} col {j}");

            var y = Ops.VqGatherBackward(Put(src, [n, d], dt, dev), PutIdx(idx, dev), k);
            Assert.Equal([k, d], y.Shape);
            AssertSameBits(SegmentSum(src, idx, k, d, dt), Get(y), $"{head}: segment sum vs the in-order reference");
        }
    }

    [Theory, MemberData(nameof(Rows))]
    public void CountsAndPerplexity(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng(nameof(CountsAndPerplexity));
        int n = 613, k = 29;
        var idx = Codes(rng, n, k);
        var counts = GetIdx(Ops.VqCounts(PutIdx(idx, dev), k));
        var expect = new int[k];
        foreach (int v in idx) expect[v]++;
        Assert.Equal(expect, counts);

        double h = 0;
        foreach (int c in expect) if (c > 0) { double p = c / (double)n; h -= p * Math.Log(p); }
        double tol = dt == DType.F32 ? 1e-6 : 1e-13;
        double Perp(int[] c) => Get(Ops.VqPerplexity(PutIdx(c, dev), dt))[0];
        double got = Perp(expect);
        Assert.True(Math.Abs(got - Math.Exp(h)) <= tol * Math.Exp(h), $"[{dtype}] on {device}: perplexity {got:R}, expected {Math.Exp(h):R}");
        Assert.True(Math.Abs(Perp(Enumerable.Repeat(7, 300).ToArray()) - 300) <= tol * 300, $"[{dtype}] on {device}: uniform usage must give K");
        Assert.Equal(1.0, Perp([0, 0, 12, 0]));
        Assert.Equal(1.0, Perp(new int[5]));
    }

    [Theory, MemberData(nameof(Rows))]
    public void SquaredErrorAndItsBackward(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        foreach (var (n, d) in new[] { (333, 7), (1, 1), (4100, 16) })
        {
            using var scope = TensorScope.Begin();
            string head = $"N={n} D={d} [{dtype}] on {device}";
            var rng = TestData.Rng(nameof(SquaredErrorAndItsBackward), n);
            var x = Round(Normal(rng, n * d), dt);
            var q = Round(Normal(rng, n * d), dt);
            double scale = 1.25 / (n * d);
            var tx = Put(x, [n, d], dt, dev);
            var tq = Put(q, [n, d], dt, dev);
            double got = Get(Ops.VqSquaredError(tx, tq, scale))[0];
            double sum = 0;
            for (int i = 0; i < x.Length; i++) { double v = dt == DType.F32 ? (float)((float)x[i] - (float)q[i]) : x[i] - q[i]; sum += v * v; }
            double want = dt == DType.F32 ? (float)(scale * sum) : scale * sum;
            double tol = dt == DType.F32 ? 1e-6 : 1e-13;
            Assert.True(Math.Abs(got - want) <= tol * want, $"{head}: loss {got:R}, reference {want:R}");

            double gyv = 0.8125, ax = 0.5 / (n * d), aq = 2.0 / (n * d);
            var gy = Put([gyv], [], dt, dev);
            var (gx, gqt) = Ops.VqSquaredErrorBackward(tx, tq, gy, ax, aq);
            var ex = new double[x.Length];
            var eq = new double[x.Length];
            for (int i = 0; i < x.Length; i++)
            {
                if (dt == DType.F32)
                {
                    float cx = (float)(ax * gyv), cq = (float)(aq * gyv), xf = (float)x[i], qf = (float)q[i];
                    ex[i] = cx * (xf - qf); eq[i] = cq * (qf - xf);
                }
                else { ex[i] = ax * gyv * (x[i] - q[i]); eq[i] = aq * gyv * (q[i] - x[i]); }
            }
            AssertSameBits(ex, Get(gx!), $"{head}: gx");
            AssertSameBits(eq, Get(gqt!), $"{head}: gq");
            var (onlyX, noQ) = Ops.VqSquaredErrorBackward(tx, tq, gy, ax, aq, wantQ: false);
            Assert.Null(noQ);
            AssertSameBits(ex, Get(onlyX!), $"{head}: gx alone");
        }
    }

    [Theory, MemberData(nameof(Rows))]
    public void BadIndicesAreTypedErrorsNamingTheOpAndPosition(string device, string dtype)
    {
        var dev = TestDevices.Get(device);
        var dt = Parse(dtype);
        using var scope = TensorScope.Begin();
        int n = 300, k = 8, d = 3;
        var idx = new int[n];
        idx[261] = 8;
        idx[270] = -1;
        var rows = Put(new double[n * d], [n, d], dt, dev);
        var ti = PutIdx(idx, dev);
        var e1 = Assert.Throws<InvalidArgumentException>(() => Ops.VqSegmentSum(rows, ti, k));
        Assert.Contains("VqSegmentSum", e1.Message);
        Assert.Contains("index 8 at position 261", e1.Message);
        var e2 = Assert.Throws<InvalidArgumentException>(() => Ops.VqCounts(ti, k));
        Assert.Contains("VqCounts", e2.Message);
        Assert.Contains("index 8 at position 261", e2.Message);
        var e3 = Assert.Throws<InvalidArgumentException>(() => Ops.VqGather(Put(new double[k * d], [k, d], dt, dev), ti));
        Assert.Contains("VqGather", e3.Message);
        Assert.Contains("position 261", e3.Message);

        // The EMA state is left untouched by a rejected update.
        var cb = Put(Enumerable.Range(0, k * d).Select(v => (double)v).ToArray(), [k, d], dt, dev);
        var cs = Put(Enumerable.Repeat(2.0, k).ToArray(), [k], dt, dev);
        var es = Put(Enumerable.Repeat(3.0, k * d).ToArray(), [k, d], dt, dev);
        var e4 = Assert.Throws<InvalidArgumentException>(() => Ops.VqEmaUpdate(rows, ti, cb, cs, es, new VqEmaParams(0.9, 1e-5, 1.0, 1, 0)));
        Assert.Contains("VqEmaUpdate", e4.Message);
        Assert.Contains("index 8 at position 261", e4.Message);
        Assert.Equal(Enumerable.Range(0, k * d).Select(v => (double)v), Get(cb));
        Assert.All(Get(cs), v => Assert.Equal(2.0, v));
        Assert.All(Get(es), v => Assert.Equal(3.0, v));
    }
}
