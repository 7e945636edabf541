// Pool / resample / pad / index kernels against PyTorch golden data (Golden/spatial.json, made by
// Golden/gen_spatial.py): forward outputs and input gradients for a given upstream gradient, checked in
// double (1e-10) and float (1e-5).
using System.Numerics;
using Engine.Cpu.Kernels;
using Xunit;
using static Engine.Tests.Kernels.SpatialGolden;

namespace Engine.Tests.Kernels;

public unsafe class SpatialKernelTests
{
    public static TheoryData<string> Types => new() { "double", "float" };

    private static void ForType(string type, Action<bool> run) => run(type == "double");

    [Fact]
    public void GoldenFileComesFromTorch()
    {
        Assert.False(string.IsNullOrEmpty(TorchVersion));
        foreach (var op in new[] { "maxpool", "avgpool", "nearest", "bilinear", "pad", "gather", "scatter_add", "index_select", "index_add" })
            Assert.NotEmpty(Cases(op));
    }

    [Theory, MemberData(nameof(Types))]
    public void MaxPool2dMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("maxpool")) { if (d) MaxPool<double>(c); else MaxPool<float>(c); } });

    private static void MaxPool<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), k = c.I("k"), st = c.I("s"), p = c.I("p"), dl = c.I("d"), os = c.I("oshape");
        Assert.Equal(os[2], PoolKernels.OutputSize(s[2], k[0], st[0], p[0], dl[0]));
        Assert.Equal(os[3], PoolKernels.OutputSize(s[3], k[1], st[1], p[1], dl[1]));
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[Prod(os)];
        var am = new int[y.Length];
        var gx = new T[x.Length];
        gx.AsSpan().Fill(T.CreateTruncating(123)); // must be overwritten
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        fixed (int* pa = am)
        {
            PoolKernels.MaxPool2d(s[0], s[1], s[2], s[3], k[0], k[1], st[0], st[1], p[0], p[1], dl[0], dl[1], px, py, pa);
            PoolKernels.MaxPool2dBackward(s[0], s[1], s[2], s[3], os[2], os[3], pgy, pa, pgx);
        }
        Close(c.D("y"), y, $"{c} y");
        Assert.Equal(c.I("argmax"), am);
        Close(c.D("gx"), gx, $"{c} gx");
    }

    [Theory, MemberData(nameof(Types))]
    public void AvgPool2dMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("avgpool")) { if (d) AvgPool<double>(c); else AvgPool<float>(c); } });

    private static void AvgPool<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), k = c.I("k"), st = c.I("s"), p = c.I("p"), os = c.I("oshape");
        bool cip = c.Bool("cip");
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[Prod(os)];
        var gx = new T[x.Length];
        gx.AsSpan().Fill(T.One);
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        {
            PoolKernels.AvgPool2d(s[0], s[1], s[2], s[3], k[0], k[1], st[0], st[1], p[0], p[1], cip, px, py);
            PoolKernels.AvgPool2dBackward(s[0], s[1], s[2], s[3], k[0], k[1], st[0], st[1], p[0], p[1], cip, pgy, pgx);
        }
        Close(c.D("y"), y, $"{c} y");
        Close(c.D("gx"), gx, $"{c} gx");
    }

    [Theory, MemberData(nameof(Types))]
    public void UpsampleNearestMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("nearest")) { if (d) Resample<double>(c); else Resample<float>(c); } });

    /// <summary>Source tables where PyTorch's single-precision scale differs from exact integer floor.</summary>
    [Fact]
    public void NearestSourceIndexMatchesTorchRounding()
    {
        var cases = Cases("nearest_index").ToArray();
        Assert.NotEmpty(cases);
        foreach (var c in cases)
        {
            int inSize = c.Int("insize"), outSize = c.Int("outsize");
            var got = Enumerable.Range(0, outSize).Select(d => ResampleKernels.NearestSourceIndex(d, inSize, outSize)).ToArray();
            Assert.True(c.I("src").SequenceEqual(got), $"{c}: {inSize} -> {outSize}");
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void UpsampleBilinearMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("bilinear")) { if (d) Resample<double>(c); else Resample<float>(c); } });

    private static void Resample<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), os = c.I("oshape");
        bool bilinear = c.Op == "bilinear", ac = c.Bool("ac");
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[Prod(os)];
        var gx = new T[x.Length];
        gx.AsSpan().Fill(T.One);
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        {
            if (bilinear)
            {
                ResampleKernels.UpsampleBilinear(s[0], s[1], s[2], s[3], os[2], os[3], ac, px, py);
                ResampleKernels.UpsampleBilinearBackward(s[0], s[1], s[2], s[3], os[2], os[3], ac, pgy, pgx);
            }
            else
            {
                ResampleKernels.UpsampleNearest(s[0], s[1], s[2], s[3], os[2], os[3], px, py);
                ResampleKernels.UpsampleNearestBackward(s[0], s[1], s[2], s[3], os[2], os[3], pgy, pgx);
            }
        }
        Close(c.D("y"), y, $"{c} y");
        Close(c.D("gx"), gx, $"{c} gx");
    }

    [Theory, MemberData(nameof(Types))]
    public void Pad2dMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("pad")) { if (d) Pad<double>(c); else Pad<float>(c); } });

    private static void Pad<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), pads = c.I("pads"), os = c.I("oshape");
        var mode = c.Str("mode") switch { "reflect" => PadMode.Reflect, "replicate" => PadMode.Replicate, _ => PadMode.Zero };
        int planes = s[0] * s[1];
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[Prod(os)];
        var gx = new T[x.Length];
        gx.AsSpan().Fill(T.One);
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        {
            PadKernels.Pad2d(planes, s[2], s[3], pads[0], pads[1], pads[2], pads[3], mode, T.CreateTruncating(c.Num("value")), px, py);
            PadKernels.Pad2dBackward(planes, s[2], s[3], pads[0], pads[1], pads[2], pads[3], mode, pgy, pgx);
        }
        Close(c.D("y"), y, $"{c} {mode} y");
        Close(c.D("gx"), gx, $"{c} {mode} gx");
    }

    /// <summary>gather forward vs torch; its x-gradient is a ScatterAdd of gy into zeros.</summary>
    [Theory, MemberData(nameof(Types))]
    public void GatherMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("gather")) { if (d) Gather<double>(c); else Gather<float>(c); } });

    private static void Gather<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), ish = c.I("ishape"), idx = c.I("idx");
        int dim = c.Int("dim");
        var (outer, inner) = Around(s, dim);
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[idx.Length];
        var gx = new T[x.Length];
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        fixed (int* pi = idx)
        {
            IndexKernels.Gather(outer, s[dim], ish[dim], inner, px, pi, py);
            IndexKernels.ScatterAdd(outer, s[dim], ish[dim], inner, pgx, pi, pgy);
        }
        Close(c.D("y"), y, $"{c} dim {dim} y");
        Close(c.D("gx"), gx, $"{c} dim {dim} gx");
    }

    /// <summary>x.scatter_add(dim, idx, src): y = copy of x accumulated; gx = gy, gsrc = Gather(gy).</summary>
    [Theory, MemberData(nameof(Types))]
    public void ScatterAddMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("scatter_add")) { if (d) ScatterAdd<double>(c); else ScatterAdd<float>(c); } });

    private static void ScatterAdd<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), ish = c.I("ishape"), idx = c.I("idx");
        int dim = c.Int("dim");
        var (outer, inner) = Around(s, dim);
        T[] y = Cast<T>(c.D("x")), src = Cast<T>(c.D("src")), gy = Cast<T>(c.D("gy"));
        var gsrc = new T[src.Length];
        fixed (T* py = y, ps = src, pgy = gy, pgs = gsrc)
        fixed (int* pi = idx)
        {
            IndexKernels.ScatterAdd(outer, s[dim], ish[dim], inner, py, pi, ps);
            IndexKernels.Gather(outer, s[dim], ish[dim], inner, pgy, pi, pgs);
        }
        Close(c.D("y"), y, $"{c} dim {dim} y");
        Close(c.D("gx"), gy, $"{c} dim {dim} gx");
        Close(c.D("gsrc"), gsrc, $"{c} dim {dim} gsrc");
    }

    /// <summary>index_select forward vs torch; its x-gradient is an IndexAdd of gy into zeros.</summary>
    [Theory, MemberData(nameof(Types))]
    public void IndexSelectMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("index_select")) { if (d) IndexSelect<double>(c); else IndexSelect<float>(c); } });

    private static void IndexSelect<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), os = c.I("oshape"), idx = c.I("idx");
        int dim = c.Int("dim");
        var (outer, inner) = Around(s, dim);
        T[] x = Cast<T>(c.D("x")), gy = Cast<T>(c.D("gy"));
        var y = new T[Prod(os)];
        var gx = new T[x.Length];
        fixed (T* px = x, py = y, pgy = gy, pgx = gx)
        fixed (int* pi = idx)
        {
            IndexKernels.IndexSelect(outer, s[dim], inner, px, pi, idx.Length, py);
            IndexKernels.IndexAdd(outer, s[dim], inner, pgx, pi, idx.Length, pgy);
        }
        Close(c.D("y"), y, $"{c} dim {dim} y");
        Close(c.D("gx"), gx, $"{c} dim {dim} gx");
    }

    /// <summary>x.index_add(dim, idx, src) with duplicate indices: y accumulated; gsrc = IndexSelect(gy).</summary>
    [Theory, MemberData(nameof(Types))]
    public void IndexAddMatchesTorch(string type) =>
        ForType(type, d => { foreach (var c in Cases("index_add")) { if (d) IndexAdd<double>(c); else IndexAdd<float>(c); } });

    private static void IndexAdd<T>(GoldenCase c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int[] s = c.I("shape"), idx = c.I("idx");
        int dim = c.Int("dim");
        var (outer, inner) = Around(s, dim);
        T[] y = Cast<T>(c.D("x")), src = Cast<T>(c.D("src")), gy = Cast<T>(c.D("gy"));
        var gsrc = new T[src.Length];
        fixed (T* py = y, ps = src, pgy = gy, pgs = gsrc)
        fixed (int* pi = idx)
        {
            IndexKernels.IndexAdd(outer, s[dim], inner, py, pi, idx.Length, ps);
            IndexKernels.IndexSelect(outer, s[dim], inner, pgy, pi, idx.Length, pgs);
        }
        Close(c.D("y"), y, $"{c} dim {dim} y");
        Close(c.D("gsrc"), gsrc, $"{c} dim {dim} gsrc");
    }
}
