// Gradient checks for src/Autograd/Ops/Linalg.cs: Matmul (all four transpose flags, batched with
// broadcast batch dims on either side), Linear with and without bias, Conv2d (stride, padding,
// dilation, groups, depthwise, bias, non-square kernels and strides) and ConvTranspose2d (stride,
// padding, output padding, groups, dilation, bias). Every input of every op is checked: x, weight
// and bias.
using Engine.Autograd;
using Xunit;
using static Engine.Tests.Autograd.Grad;

namespace Engine.Tests.Autograd;

public class LinalgGradTests
{
    // ---- matmul / linear ---------------------------------------------------------------------------

    private static readonly GradCaseTable MatmulCases = BuildMatmul();

    private static GradCaseTable BuildMatmul()
    {
        var t = new GradCaseTable();
        // C (3, 5) = op(A) op(B) with op(A) (3, 4), op(B) (4, 5).
        t.Add("nn", v => F.Matmul(v[0], v[1]), rng => [U(rng, [3, 4]), U(rng, [4, 5])]);
        t.Add("tn", v => F.Matmul(v[0], v[1], transA: true), rng => [U(rng, [4, 3]), U(rng, [4, 5])]);
        t.Add("nt", v => F.Matmul(v[0], v[1], transB: true), rng => [U(rng, [3, 4]), U(rng, [5, 4])]);
        t.Add("tt", v => F.Matmul(v[0], v[1], transA: true, transB: true), rng => [U(rng, [4, 3]), U(rng, [5, 4])]);
        t.Add("batched_same", v => F.Matmul(v[0], v[1]), rng => [U(rng, [2, 3, 4]), U(rng, [2, 4, 2])]);
        t.Add("batched_a_2d_b", v => F.Matmul(v[0], v[1]), rng => [U(rng, [2, 3, 4]), U(rng, [4, 5])]);
        t.Add("batched_2d_a_b", v => F.Matmul(v[0], v[1]), rng => [U(rng, [3, 4]), U(rng, [2, 4, 2])]);
        t.Add("batched_broadcast_both", v => F.Matmul(v[0], v[1]), rng => [U(rng, [2, 1, 3, 4]), U(rng, [3, 4, 2])]);
        t.Add("batched_broadcast_tn", v => F.Matmul(v[0], v[1], transA: true), rng => [U(rng, [2, 1, 4, 3]), U(rng, [3, 4, 2])]);
        t.Add("batched_broadcast_nt", v => F.Matmul(v[0], v[1], transB: true), rng => [U(rng, [1, 3, 3, 4]), U(rng, [2, 1, 2, 4])]);
        t.Add("batched_broadcast_tt", v => F.Matmul(v[0], v[1], true, true), rng => [U(rng, [2, 1, 4, 3]), U(rng, [3, 2, 4])]);
        t.Add("same_var_both_sides", v => F.Matmul(v[0], v[0], transB: true), rng => [U(rng, [3, 4])]);
        // Operands that are non-contiguous views.
        t.Add("strided_operands", v => F.Matmul(F.Transpose(v[0], 0, 1), F.Slice(v[1], 1, 0, 6, 2)), rng => [U(rng, [4, 3]), U(rng, [4, 6])]);
        t.Add("linear_bias", v => F.Linear(v[0], v[1], v[2]), rng => [U(rng, [2, 3, 4]), U(rng, [5, 4]), U(rng, [5])]);
        t.Add("linear_no_bias", v => F.Linear(v[0], v[1]), rng => [U(rng, [3, 4]), U(rng, [5, 4])]);
        t.Add("linear_const_weight", v => F.Linear(v[0], v[1], v[2]), rng => [U(rng, [3, 4]), U(rng, [2, 4]), U(rng, [2])], new() { SkipInputs = [1] });
        return t;
    }

    public static TheoryData<string> MatmulNames => MatmulCases.Names();

    [Theory, MemberData(nameof(MatmulNames))]
    public void Matmul(string op) => Check(nameof(LinalgGradTests), op, MatmulCases[op]);

    // ---- conv2d ------------------------------------------------------------------------------------

    private static Conv2dParams P(int sh, int sw, int ph, int pw, int dh = 1, int dw = 1, int groups = 1) => new(sh, sw, ph, pw, dh, dw, groups);

    /// <summary>x (N, C, H, W), w (Cout, Cin/g, KH, KW), optional bias (Cout).</summary>
    private static Func<System.Random, Tensor[]> ConvIn(int[] x, int[] w, bool bias)
        => rng => bias ? [U(rng, x), U(rng, w), U(rng, [w[0]])] : [U(rng, x), U(rng, w)];

    private static readonly GradCaseTable ConvCases = BuildConv();

    private static GradCaseTable BuildConv()
    {
        var t = new GradCaseTable();
        Func<Var[], Var> conv(Conv2dParams p) => v => F.Conv2d(v[0], v[1], v.Length > 2 ? v[2] : null, p);
        t.Add("basic_bias", conv(P(1, 1, 0, 0)), ConvIn([2, 2, 4, 4], [3, 2, 3, 3], bias: true));
        t.Add("basic_no_bias", conv(P(1, 1, 0, 0)), ConvIn([1, 2, 4, 4], [3, 2, 3, 3], bias: false));
        t.Add("stride2_pad1", conv(P(2, 2, 1, 1)), ConvIn([1, 2, 5, 5], [3, 2, 3, 3], bias: true));
        t.Add("stride2_even_input", conv(P(2, 2, 1, 1)), ConvIn([1, 2, 6, 6], [2, 2, 3, 3], bias: false));
        t.Add("dilation2", conv(P(1, 1, 0, 0, 2, 2)), ConvIn([1, 2, 6, 6], [2, 2, 2, 2], bias: true));
        t.Add("dilation2_pad2", conv(P(1, 1, 2, 2, 2, 2)), ConvIn([1, 1, 4, 5], [2, 1, 3, 3], bias: false));
        t.Add("groups2", conv(P(1, 1, 1, 1, 1, 1, 2)), ConvIn([1, 4, 4, 4], [4, 2, 3, 3], bias: true));
        t.Add("groups2_no_bias", conv(P(1, 1, 0, 0, 1, 1, 2)), ConvIn([2, 4, 3, 3], [2, 2, 2, 2], bias: false));
        t.Add("depthwise", conv(P(1, 1, 1, 1, 1, 1, 3)), ConvIn([1, 3, 4, 4], [3, 1, 3, 3], bias: true));
        t.Add("depthwise_multiplier2", conv(P(1, 1, 0, 0, 1, 1, 2)), ConvIn([1, 2, 4, 4], [4, 1, 2, 2], bias: false));
        t.Add("nonsquare_kernel", conv(P(1, 1, 0, 1)), ConvIn([1, 2, 4, 5], [2, 2, 2, 3], bias: true));
        t.Add("nonsquare_all", conv(P(2, 1, 1, 0, 1, 2)), ConvIn([1, 2, 5, 6], [2, 2, 3, 2], bias: true));
        t.Add("1x1", conv(P(1, 1, 0, 0)), ConvIn([2, 3, 3, 3], [2, 3, 1, 1], bias: true));
        t.Add("stride_skips_last_rows", conv(P(3, 3, 0, 0)), ConvIn([1, 1, 7, 8], [2, 1, 2, 2], bias: false));
        t.Add("everything", conv(P(2, 2, 1, 1, 2, 2, 2)), ConvIn([1, 4, 6, 6], [2, 2, 2, 2], bias: true));
        t.Add("int_overload", v => F.Conv2d(v[0], v[1], v[2], stride: 2, padding: 1, dilation: 1, groups: 1), ConvIn([1, 2, 5, 5], [2, 2, 3, 3], bias: true));
        t.Add("const_weight", conv(P(1, 1, 1, 1)), ConvIn([1, 2, 3, 3], [2, 2, 3, 3], bias: true), new() { SkipInputs = [1] });
        t.Add("const_input", conv(P(1, 1, 1, 1)), ConvIn([1, 2, 3, 3], [2, 2, 3, 3], bias: true), new() { SkipInputs = [0] });
        return t;
    }

    public static TheoryData<string> ConvNames => ConvCases.Names();

    [Theory, MemberData(nameof(ConvNames))]
    public void Conv2d(string op) => Check(nameof(LinalgGradTests), op, ConvCases[op]);

    // ---- conv_transpose2d --------------------------------------------------------------------------

    /// <summary>x (N, Cin, H, W), w (Cin, Cout/g, KH, KW), optional bias (Cout).</summary>
    private static Func<System.Random, Tensor[]> ConvTIn(int[] x, int[] w, int groups, bool bias)
        => rng => bias ? [U(rng, x), U(rng, w), U(rng, [w[1] * groups])] : [U(rng, x), U(rng, w)];

    private static readonly GradCaseTable ConvTCases = BuildConvT();

    private static GradCaseTable BuildConvT()
    {
        var t = new GradCaseTable();
        Func<Var[], Var> convT(Conv2dParams p, int oph = 0, int opw = 0) => v => F.ConvTranspose2d(v[0], v[1], v.Length > 2 ? v[2] : null, p, oph, opw);
        t.Add("basic_bias", convT(P(1, 1, 0, 0)), ConvTIn([2, 2, 3, 3], [2, 3, 3, 3], 1, bias: true));
        t.Add("basic_no_bias", convT(P(1, 1, 0, 0)), ConvTIn([1, 3, 3, 3], [3, 2, 2, 2], 1, bias: false));
        t.Add("stride2", convT(P(2, 2, 0, 0)), ConvTIn([1, 2, 3, 3], [2, 2, 3, 3], 1, bias: true));
        t.Add("stride2_pad1", convT(P(2, 2, 1, 1)), ConvTIn([1, 2, 3, 3], [2, 2, 3, 3], 1, bias: true));
        t.Add("stride2_pad1_outpad1", convT(P(2, 2, 1, 1), 1, 1), ConvTIn([1, 2, 3, 3], [2, 2, 3, 3], 1, bias: true));
        t.Add("stride2_outpad1_h_only", convT(P(2, 2, 1, 1), 1, 0), ConvTIn([1, 2, 3, 2], [2, 2, 3, 3], 1, bias: false));
        t.Add("groups2", convT(P(1, 1, 1, 1, 1, 1, 2)), ConvTIn([1, 4, 3, 3], [4, 1, 3, 3], 2, bias: true));
        t.Add("groups2_stride2_outpad1", convT(P(2, 2, 0, 0, 1, 1, 2), 1, 1), ConvTIn([1, 4, 2, 3], [4, 2, 2, 2], 2, bias: true));
        t.Add("dilation2", convT(P(1, 1, 1, 1, 2, 2)), ConvTIn([1, 2, 3, 3], [2, 2, 2, 2], 1, bias: true));
        t.Add("nonsquare", convT(P(2, 1, 0, 1)), ConvTIn([1, 2, 3, 2], [2, 2, 2, 3], 1, bias: true));
        t.Add("int_overload", v => F.ConvTranspose2d(v[0], v[1], v[2], stride: 2, padding: 1, outputPadding: 1), ConvTIn([1, 2, 2, 3], [2, 3, 3, 3], 1, bias: true));
        t.Add("const_weight", convT(P(2, 2, 1, 1), 1, 1), ConvTIn([1, 2, 2, 2], [2, 2, 3, 3], 1, bias: true), new() { SkipInputs = [1] });
        return t;
    }

    public static TheoryData<string> ConvTNames => ConvTCases.Names();

    [Theory, MemberData(nameof(ConvTNames))]
    public void ConvTranspose2d(string op) => Check(nameof(LinalgGradTests), op, ConvTCases[op]);
}
