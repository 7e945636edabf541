// Matmul and convolutions with their backward rules.
//   C = op(A) op(B): dA = dC op(B)^T (transposed back if transA), dB likewise; batch dims that were
//   broadcast are summed by the engine.
//   conv2d: dx = BackwardData(gy, w), dw = BackwardFilter(x, gy), db = sum over N, H, W.
//   conv_transpose2d (weight (Cin, Cout/g, kh, kw)) is conv2d's data gradient: dx = conv2d(gy, w),
//   dw = BackwardFilter(gy as the input, x as the output gradient).
namespace Engine.Autograd;

public static partial class F
{
    public static Var Matmul(Var a, Var b, bool transA = false, bool transB = false)
    {
        Tensor ad = a.Data, bd = b.Data;
        var y = Ops.Matmul(ad, bd, transA, transB);
        return Record("Matmul", y, [a, b], gy =>
        {
            Tensor? ga = null, gb = null;
            if (a.RequiresGrad)
                ga = transA ? Ops.Matmul(bd, gy, transB, true) : Ops.Matmul(gy, bd, false, !transB);
            if (b.RequiresGrad)
                gb = transB ? Ops.Matmul(gy, ad, true, transA) : Ops.Matmul(ad, gy, !transA, false);
            return [ga, gb];
        });
    }

    public static Var Linear(Var x, Var w, Var? bias = null)
    {
        // x (..., in), w (out, in) as in torch.nn.Linear.
        var y = Matmul(x, w, transB: true);
        return bias == null ? y : Add(y, bias);
    }

    /// <summary>act(conv2d(x, w) + bias) with the activation fused into the convolution's output pass.</summary>
    public static Var Conv2d(Var x, Var w, Var? bias, Conv2dParams p, Activation act = default)
    {
        Tensor xd = x.Data, wd = w.Data;
        var y = Ops.Conv2d(xd, wd, bias?.Data, p, act);
        Var[] inputs = bias == null ? [x, w] : [x, w, bias];
        return Record(act.IsNone ? "Conv2d" : $"Conv2d+{act}", y, inputs, gyOut =>
        {
            // act'(pre) from the output: pre > 0 exactly where y > 0 (slope >= 0); 0 there counts as the negative side.
            using var scaled = act.IsNone ? null : ActivationGrad(gyOut, y, act);
            var gy = scaled ?? gyOut;
            var r = new Tensor?[inputs.Length];
            if (x.RequiresGrad) r[0] = Ops.Conv2dBackwardData(gy, wd, xd.Size(2), xd.Size(3), p);
            if (w.RequiresGrad) r[1] = Ops.Conv2dBackwardFilter(xd, gy, wd.Size(2), wd.Size(3), p);
            if (bias is { RequiresGrad: true }) r[2] = Ops.Sum(gy, [0, 2, 3]);
            return r;
        });
    }

    private static Tensor ActivationGrad(Tensor gy, Tensor y, Activation act)
    {
        using var pos = Ops.Gt(y, 0.0);
        if (act.Kind == ActivationKind.Relu) return Ops.Mul(gy, pos);
        using var m = Ops.Mul(pos, 1 - act.Slope);
        using var d = Ops.Add(m, act.Slope);
        return Ops.Mul(gy, d);
    }

    public static Var Conv2d(Var x, Var w, Var? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Conv2d(x, w, bias, new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups));

    public static Var ConvTranspose2d(Var x, Var w, Var? bias, Conv2dParams p, int outputPadH = 0, int outputPadW = 0)
    {
        Tensor xd = x.Data, wd = w.Data;
        var y = Ops.ConvTranspose2d(xd, wd, bias?.Data, p, outputPadH, outputPadW);
        Var[] inputs = bias == null ? [x, w] : [x, w, bias];
        return Record("ConvTranspose2d", y, inputs, gy =>
        {
            var r = new Tensor?[inputs.Length];
            if (x.RequiresGrad) r[0] = Ops.Conv2d(gy, wd, null, p);
            if (w.RequiresGrad) r[1] = Ops.Conv2dBackwardFilter(gy, xd, wd.Size(2), wd.Size(3), p);
            if (bias is { RequiresGrad: true }) r[2] = Ops.Sum(gy, [0, 2, 3]);
            return r;
        });
    }

    public static Var ConvTranspose2d(Var x, Var w, Var? bias = null, int stride = 1, int padding = 0, int outputPadding = 0, int dilation = 1, int groups = 1)
        => ConvTranspose2d(x, w, bias, new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups), outputPadding, outputPadding);
}
