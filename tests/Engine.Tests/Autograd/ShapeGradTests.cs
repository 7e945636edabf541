// Gradient checks for the view ops (src/Autograd/Ops/Views.cs), including a chain of views on a
// non-contiguous input, and for Concat/Stack/Split/Chunk/PixelShuffle/PixelUnshuffle
// (src/Autograd/Ops/Shape.cs). Multi-output ops are checked through several outputs at once,
// recombined with different weights (and one piece left unused, whose gradient must be zero).
using Engine.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Autograd;

public class ShapeGradTests
{
    private static Func<System.Random, Tensor[]> X(params int[] shape) => rng => [U(rng, shape)];

    // ---- views -------------------------------------------------------------------------------------

    private static readonly GradCaseTable ViewCases = BuildViews();

    private static GradCaseTable BuildViews()
    {
        var t = new GradCaseTable();
        t.Add("reshape", v => F.Reshape(v[0], 4, 6), X(2, 3, 4));
        t.Add("reshape_infer", v => F.Reshape(v[0], 3, -1, 2), X(2, 3, 4));
        t.Add("flatten_all", v => F.Flatten(v[0]), X(2, 3, 4));
        t.Add("flatten_1", v => F.Flatten(v[0], 1), X(2, 3, 4));
        t.Add("flatten_0_1", v => F.Flatten(v[0], 0, 1), X(2, 3, 4));
        t.Add("permute", v => F.Permute(v[0], 2, 0, 1), X(2, 3, 4));
        t.Add("permute_negative_dims", v => F.Permute(v[0], -1, 0, -2), X(2, 3, 4));
        t.Add("transpose", v => F.Transpose(v[0], 0, 2), X(2, 3, 4));
        t.Add("transpose_negative", v => F.Transpose(v[0], -1, -2), X(2, 3, 4));
        t.Add("contiguous_of_transpose", v => F.Contiguous(F.Transpose(v[0], 0, 1)), X(2, 3, 4));
        t.Add("narrow", v => F.Narrow(v[0], 1, 1, 2), X(2, 3, 4));
        t.Add("narrow_last", v => F.Narrow(v[0], -1, 2, 2), X(2, 3, 4));
        t.Add("slice_step2", v => F.Slice(v[0], 2, 0, 4, 2), X(2, 3, 4));
        t.Add("slice_step3_offset", v => F.Slice(v[0], 1, 1, 7, 3), X(2, 7, 2));
        t.Add("slice_step1", v => F.Slice(v[0], 0, 1, 3), X(4, 3, 2));
        t.Add("select", v => F.Select(v[0], 1, 2), X(2, 3, 4));
        t.Add("select_negative", v => F.Select(v[0], -1, -1), X(2, 3, 4));
        t.Add("expand", v => F.Expand(v[0], 2, 3, 4), X(3, 1));
        t.Add("expand_new_leading", v => F.Expand(v[0], 3, 2, 4), X(2, 1));
        t.Add("squeeze", v => F.Squeeze(v[0], 1), X(3, 1, 4));
        t.Add("squeeze_negative", v => F.Squeeze(v[0], -1), X(3, 4, 1));
        t.Add("unsqueeze", v => F.Unsqueeze(v[0], 0), X(3, 4));
        t.Add("unsqueeze_last", v => F.Unsqueeze(v[0], -1), X(3, 4));
        // A chain of views starting from a non-contiguous one; every rule sees a strided gradient.
        t.Add("view_chain_noncontiguous", v =>
        {
            var a = F.Transpose(v[0], 0, 1);         // (6, 4), strided
            var b = F.Slice(a, 0, 1, 6, 2);          // (3, 4), rows 1, 3, 5
            var c = F.Narrow(b, 1, 1, 3);            // (3, 3)
            var d = F.Unsqueeze(c, 0);               // (1, 3, 3)
            var e = F.Expand(d, 2, 3, 3);            // (2, 3, 3), stride 0
            var f = F.Permute(e, 2, 0, 1);           // (3, 2, 3)
            var g = F.Select(f, 1, 1);               // (3, 3)
            var h = F.Reshape(F.Mul(f, F.Unsqueeze(g, 1)), 9, 2); // reshape of a computed value
            return F.Flatten(F.Squeeze(F.Unsqueeze(h, 1), 1));
        }, X(4, 6));
        // Reshape of a non-contiguous view (a copy, not a view).
        t.Add("reshape_noncontiguous", v => F.Reshape(F.Permute(v[0], 1, 2, 0), 12, 2), X(2, 3, 4));
        return t;
    }

    public static TheoryData<string> ViewNames => ViewCases.Names();

    [Theory, MemberData(nameof(ViewNames))]
    public void View(string op) => Check(nameof(ShapeGradTests), op, ViewCases[op]);

    // ---- concat / stack / split / chunk / pixel shuffles -------------------------------------------

    private static readonly GradCaseTable JoinCases = BuildJoin();

    private static GradCaseTable BuildJoin()
    {
        var t = new GradCaseTable();
        t.Add("concat_dim1", v => F.Concat([v[0], v[1], v[2]], 1), rng => [U(rng, [2, 1, 3]), U(rng, [2, 3, 3]), U(rng, [2, 2, 3])]);
        t.Add("concat_dim-1", v => F.Concat([v[0], v[1]], -1), rng => [U(rng, [3, 2]), U(rng, [3, 4])]);
        t.Add("concat_dim0", v => F.Concat([v[0], v[1]], 0), rng => [U(rng, [1, 4]), U(rng, [3, 4])]);
        t.Add("concat_same_var_twice", v => F.Concat([v[0], F.Mul(v[0], 2.0), v[0]], 0), rng => [U(rng, [2, 3])]);
        t.Add("concat_middle_const", v => F.Concat([v[0], v[1], v[2]], 1), rng => [U(rng, [2, 2]), U(rng, [2, 3]), U(rng, [2, 1])], new() { SkipInputs = [1] });
        t.Add("stack_dim0", v => F.Stack([v[0], v[1], v[2]], 0), rng => [U(rng, [2, 3]), U(rng, [2, 3]), U(rng, [2, 3])]);
        t.Add("stack_dim1", v => F.Stack([v[0], v[1]], 1), rng => [U(rng, [2, 3]), U(rng, [2, 3])]);
        t.Add("stack_dim-1", v => F.Stack([v[0], v[1], v[0]], -1), rng => [U(rng, [2, 3]), U(rng, [2, 3])]);
        t.Add("split_sizes", v =>
        {
            var p = F.Split(v[0], [1, 3, 2], 1);     // (2, 1, 2), (2, 3, 2), (2, 2, 2)
            return F.Concat([F.Mul(p[2], 2.0), p[0], F.Square(p[1])], 1);
        }, X(2, 6, 2));
        t.Add("split_sizes_unused_piece", v =>
        {
            var p = F.Split(v[0], [2, 1, 2], 0);     // p[1] unused: its rows get zero gradient
            return F.Add(F.Mul(p[0], 3.0), F.Exp(p[2]));
        }, X(5, 3));
        t.Add("split_size", v =>
        {
            var p = F.Split(v[0], 3, 1);             // sizes 3, 3, 1
            return F.Concat([F.Add(F.Mul(p[0], -1.5), p[1]), p[2]], 1);
        }, X(2, 7, 2));
        t.Add("split_size_last_dim", v =>
        {
            var p = F.Split(v[0], 2, -1);            // sizes 2, 2, 1
            return F.Concat([F.Mul(p[2], p[2]), F.Add(p[0], F.Mul(p[1], 0.5))], -1);
        }, X(3, 5));
        t.Add("chunk", v =>
        {
            var p = F.Chunk(v[0], 3, 1);             // three (2, 2)
            return F.Sub(F.Add(F.Mul(p[0], 3.0), p[1]), F.Mul(p[2], p[2]));
        }, X(2, 6));
        t.Add("chunk_uneven", v =>
        {
            var p = F.Chunk(v[0], 2, 0);             // (3, 2), (2, 2)
            return F.Concat([F.Mul(p[1], 2.0), F.Tanh(p[0])], 0);
        }, X(5, 2));
        t.Add("pixel_shuffle", v => F.PixelShuffle(v[0], 2), X(1, 8, 2, 3));
        t.Add("pixel_shuffle_r3", v => F.PixelShuffle(v[0], 3), X(2, 9, 1, 2));
        t.Add("pixel_unshuffle", v => F.PixelUnshuffle(v[0], 2), X(1, 2, 4, 6));
        t.Add("pixel_unshuffle_then_shuffle", v => F.Mul(F.PixelShuffle(F.PixelUnshuffle(v[0], 2), 2), v[0]), X(1, 1, 4, 4));
        return t;
    }

    public static TheoryData<string> JoinNames => JoinCases.Names();

    [Theory, MemberData(nameof(JoinNames))]
    public void Join(string op) => Check(nameof(ShapeGradTests), op, JoinCases[op]);

    [Fact]
    public void UnusedSplitPieceGetsZeroGradient()
    {
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([1.0, 2.0, 3.0, 4.0, 5.0], [5]), requiresGrad: true);
        var p = F.Split(x, [2, 3], 0);
        F.Sum(F.Mul(p[1], 2.0)).Backward();
        Assert.Equal([0.0, 0.0, 2.0, 2.0, 2.0], x.Grad!.ToArray<double>());
    }
}
