// The VQ benchmark hook (bench/Engine.Bench.Suite/VqBench.cs) on small shapes per device row: the
// cases are named and sized as documented, both actions run, and the composed form (materialized
// distances + ArgMin) picks the fused op's codes except at near ties. Timings are not asserted.
using Engine.Bench;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Vq.VqReference;

namespace Engine.Tests.Vq;

public class VqBenchTests
{
    public static TheoryData<string> Devices => TestDevices.AllRows;

    [Fact]
    public void FullCasesHaveTheQuantizerShapes()
    {
        Assert.Equal(65536, VqBench.Rows);
        Assert.Equal(64, VqBench.Dim);
        Assert.Equal([512, 1024], VqBench.Codes);
    }

    [Theory, MemberData(nameof(Devices))]
    public void CasesRunAndAgreeWithTheComposedForm(string device)
    {
        var dev = TestDevices.Get(device);
        int rows = 300, dim = 16;
        var seen = new List<string>();
        foreach (var (name, flop, bytes, fused, composed) in VqBench.Cases(dev, rows, dim, [40, 130]))
        {
            int k = seen.Count == 0 ? 40 : 130;
            seen.Add(name);
            Assert.Equal($"vq nearest N={rows} D={dim} K={k}", name);
            Assert.Equal(2.0 * rows * k * dim, flop);
            Assert.Equal((rows * dim + k * dim) * 4L + rows * 4L, bytes);
            fused();
            composed();
        }
        Assert.Equal(2, seen.Count);

        using var scope = TensorScope.Begin();
        var rng = TestData.Rng(nameof(CasesRunAndAgreeWithTheComposedForm));
        int n = 257, d = 24, kk = 70;
        var x = Round(Normal(rng, n * d), DType.F32);
        var e = Round(Normal(rng, kk * d), DType.F32);
        var tx = Put(x, [n, d], DType.F32, dev);
        var te = Put(e, [kk, d], DType.F32, dev);
        var fusedIdx = GetIdx(Ops.VqNearest(tx, te).Indices);
        var composedIdx = GetIdx(VqBench.Composite(tx, te));
        var (_, refDist, _) = Nearest(x, e, n, kk, d);
        for (int i = 0; i < n; i++)
        {
            if (fusedIdx[i] == composedIdx[i]) continue;
            double a = Enumerable.Range(0, d).Sum(j => Math.Pow(x[i * d + j] - e[fusedIdx[i] * d + j], 2));
            double b = Enumerable.Range(0, d).Sum(j => Math.Pow(x[i * d + j] - e[composedIdx[i] * d + j], 2));
            Assert.True(Math.Abs(a - b) <= 1e-4 * (1 + refDist[i]), $"{device}: row {i}: fused {fusedIdx[i]} ({a:R}) vs composed {composedIdx[i]} ({b:R})");
        }
    }
}
