// Gradient checks for src/Autograd/Ops/Spatial.cs: MaxPool2d (distinct values, so no window has a
// tie and the argmax never moves under +-eps; overlapping windows and padding), AvgPool2d (padding
// counted and not counted), UpsampleNearest and UpsampleBilinear (align_corners both ways, up and
// down), Pad2d (zero, reflect, replicate; asymmetric) and the index ops Gather, ScatterAdd,
// IndexSelect and IndexAdd with repeated indices, so accumulation into one element is exercised.
using Engine.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Autograd;

public class SpatialGradTests
{
    private static Func<System.Random, Tensor[]> X(params int[] shape) => rng => [U(rng, shape)];
    private static Func<System.Random, Tensor[]> D(params int[] shape) => rng => [Distinct(rng, shape)];

    // ---- pooling -----------------------------------------------------------------------------------

    private static readonly GradCaseTable PoolCases = BuildPool();

    private static GradCaseTable BuildPool()
    {
        var t = new GradCaseTable();
        t.Add("maxpool_k2", v => F.MaxPool2d(v[0], 2), D(1, 2, 4, 4));
        t.Add("maxpool_k3_s1_overlap", v => F.MaxPool2d(v[0], 3, 1), D(1, 2, 4, 5));
        t.Add("maxpool_k3_s2_pad1", v => F.MaxPool2d(v[0], 3, 2, 1), D(2, 1, 5, 5));
        t.Add("maxpool_nonsquare", v => F.MaxPool2d(v[0], new Pool2dParams(2, 3, 1, 2, 1, 1)), D(1, 2, 4, 5));
        t.Add("maxpool_dilation2", v => F.MaxPool2d(v[0], new Pool2dParams(2, 2, 1, 1, 0, 0, 2, 2)), D(1, 1, 5, 5));
        t.Add("avgpool_k2", v => F.AvgPool2d(v[0], 2), X(1, 2, 4, 4));
        t.Add("avgpool_k3_s1_overlap", v => F.AvgPool2d(v[0], 3, 1), X(1, 2, 4, 5));
        t.Add("avgpool_k3_s2_pad1", v => F.AvgPool2d(v[0], 3, 2, 1), X(2, 1, 5, 5));
        t.Add("avgpool_pad1_exclude_pad", v => F.AvgPool2d(v[0], new Pool2dParams(3, 3, 2, 2, 1, 1, CountIncludePad: false)), X(1, 2, 5, 4));
        t.Add("avgpool_nonsquare", v => F.AvgPool2d(v[0], new Pool2dParams(2, 3, 2, 1, 1, 1)), X(1, 2, 4, 5));
        return t;
    }

    public static TheoryData<string> PoolNames => PoolCases.Names();

    [Theory, MemberData(nameof(PoolNames))]
    public void Pool(string op) => Check(nameof(SpatialGradTests), op, PoolCases[op]);

    // ---- upsampling and padding --------------------------------------------------------------------

    private static readonly GradCaseTable ResizeCases = BuildResize();

    private static GradCaseTable BuildResize()
    {
        var t = new GradCaseTable();
        t.Add("nearest_x2", v => F.UpsampleNearest(v[0], 6, 6), X(1, 2, 3, 3));
        t.Add("nearest_fractional", v => F.UpsampleNearest(v[0], 5, 7), X(1, 2, 3, 3));
        t.Add("nearest_down", v => F.UpsampleNearest(v[0], 2, 3), X(2, 1, 5, 6));
        foreach (bool ac in new[] { false, true })
        {
            string s = ac ? "align" : "noalign";
            t.Add($"bilinear_{s}_up", v => F.UpsampleBilinear(v[0], 5, 7, ac), X(1, 2, 3, 4));
            t.Add($"bilinear_{s}_x2", v => F.UpsampleBilinear(v[0], 6, 4, ac), X(2, 1, 3, 2));
            t.Add($"bilinear_{s}_down", v => F.UpsampleBilinear(v[0], 3, 4, ac), X(1, 2, 5, 6));
            t.Add($"bilinear_{s}_mixed", v => F.UpsampleBilinear(v[0], 2, 7, ac), X(1, 1, 5, 3));
            t.Add($"bilinear_{s}_from_1px", v => F.UpsampleBilinear(v[0], 3, 4, ac), X(1, 2, 1, 1));
        }
        foreach (var mode in new[] { PadMode.Zero, PadMode.Reflect, PadMode.Replicate })
        {
            string s = mode.ToString().ToLowerInvariant();
            t.Add($"pad_{s}_asymmetric", v => F.Pad2d(v[0], 1, 2, 0, 1, mode), X(1, 2, 3, 4));
            t.Add($"pad_{s}_uniform", v => F.Pad2d(v[0], 2, mode), X(2, 1, 3, 3));
            // Rank 3 (pads the last two axes).
            t.Add($"pad_{s}_rank3", v => F.Pad2d(v[0], 2, 1, 1, 2, mode), X(2, 3, 4));
        }
        t.Add("pad_zero_with_value", v => F.Pad2d(v[0], 1, 1, 2, 0, PadMode.Zero, value: 0.75), X(1, 1, 3, 3));
        return t;
    }

    public static TheoryData<string> ResizeNames => ResizeCases.Names();

    [Theory, MemberData(nameof(ResizeNames))]
    public void Resize(string op) => Check(nameof(SpatialGradTests), op, ResizeCases[op]);

    // ---- indexing (index tensors are I32 data, not differentiated) ---------------------------------

    private static readonly GradCaseTable IndexCases = BuildIndex();

    private static GradCaseTable BuildIndex()
    {
        var t = new GradCaseTable();
        // Each index row repeats entries: the gradient of a repeated source element is a sum.
        var g1 = Idx([0, 3, 3, 1, 0, 2, 2, 2, 1, 0, 3, 3, 0, 0, 1], 3, 5);   // dim 1 of (3, 4), size 5 along dim
        t.Add("gather_dim1", v => F.Gather(v[0], 1, g1), X(3, 4));
        var g0 = Idx([2, 0, 1, 1, 0, 0, 2, 1], 2, 4);                          // dim 0 of (3, 4), size 2 along dim
        t.Add("gather_dim0", v => F.Gather(v[0], 0, g0), X(3, 4));
        var g3 = Idx([1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1], 2, 3, 2);          // dim -1 of (2, 3, 2)
        t.Add("gather_dim-1", v => F.Gather(v[0], -1, g3), X(2, 3, 2));

        var s0 = Idx([0, 2, 1, 2, 2, 2, 0, 0, 1, 0, 2, 1, 0, 0, 0, 1, 2, 1, 2, 2], 5, 4); // dim 0 into (3, 4)
        t.Add("scatter_add_dim0", v => F.ScatterAdd(v[0], 0, s0, v[1]), rng => [U(rng, [3, 4]), U(rng, [5, 4])]);
        var s1 = Idx([3, 3, 0, 1, 1, 1, 2, 0, 2], 3, 3);                       // dim 1 into (3, 4)
        t.Add("scatter_add_dim1", v => F.ScatterAdd(v[0], 1, s1, v[1]), rng => [U(rng, [3, 4]), U(rng, [3, 3])]);
        // The result used nonlinearly, so the gradient depends on the accumulated values.
        t.Add("scatter_add_then_square", v => F.Square(F.ScatterAdd(v[0], 0, s0, v[1])), rng => [U(rng, [3, 4]), U(rng, [5, 4])]);
        t.Add("scatter_add_const_x", v => F.ScatterAdd(v[0], 1, s1, v[1]), rng => [U(rng, [3, 4]), U(rng, [3, 3])], new() { SkipInputs = [0] });

        var i0 = Idx([0, 2, 2, 3, 0, 2], 6);
        t.Add("index_select_dim0", v => F.IndexSelect(v[0], 0, i0), X(4, 3));
        var i1 = Idx([2, 1, 2, 2], 4);
        t.Add("index_select_dim1", v => F.IndexSelect(v[0], 1, i1), X(2, 3, 2));
        t.Add("index_select_dim-1", v => F.IndexSelect(v[0], -1, i1), X(2, 3));

        var a0 = Idx([1, 1, 3, 1], 4);
        t.Add("index_add_dim0", v => F.IndexAdd(v[0], 0, a0, v[1]), rng => [U(rng, [4, 3]), U(rng, [4, 3])]);
        var a1 = Idx([0, 2, 0], 3);
        t.Add("index_add_dim1", v => F.IndexAdd(v[0], 1, a1, v[1]), rng => [U(rng, [2, 3, 2]), U(rng, [2, 3, 2])]);
        t.Add("index_add_then_exp", v => F.Exp(F.IndexAdd(v[0], 0, a0, v[1])), rng => [U(rng, [4, 3]), U(rng, [4, 3])]);
        t.Add("index_add_const_src", v => F.IndexAdd(v[0], 0, a0, v[1]), rng => [U(rng, [4, 3]), U(rng, [4, 3])], new() { SkipInputs = [1] });
        return t;
    }

    public static TheoryData<string> IndexNames => IndexCases.Names();

    [Theory, MemberData(nameof(IndexNames))]
    public void Index(string op) => Check(nameof(SpatialGradTests), op, IndexCases[op]);

    [Fact]
    public void RepeatedIndicesAccumulate()
    {
        // Exact values, independent of finite differences: repeated indices sum their gradients.
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([10.0, 20.0, 30.0], [3]), requiresGrad: true);
        using var idx = Idx([2, 0, 2, 2], 4);
        using var w = Tensor.FromArray([1.0, 2.0, 3.0, 4.0], [4]);
        F.Sum(F.Mul(F.IndexSelect(x, 0, idx), new Var(w))).Backward();
        Assert.Equal([2.0, 0.0, 8.0], x.Grad!.ToArray<double>());
        x.ZeroGrad();
        F.Sum(F.Mul(F.Gather(x, 0, idx), new Var(w))).Backward();
        Assert.Equal([2.0, 0.0, 8.0], x.Grad!.ToArray<double>());
    }
}
