// Flow ops with their backward rules: fused ActNorm, the fused affine coupling / injector epilogue
// and W^-1 from LU factors (for the inverse of an LU-parameterized 1x1 convolution).
//   ActNorm: y from one fused kernel, backward one fused pass (gx + per-channel sums); its logdet
//     H*W*sum(logs) is composed from primitives on the C-element logs (cheap, differentiable).
//   Affine epilogue: two outputs (y, logdet) from one kernel. RecordPair gives them one joint
//     backward: each output's node only parks its incoming gradient and sends a scalar token to a
//     joint node, which topological order runs after both; the joint rule then makes gx and gh in
//     one pass from whichever of gy / glogdet arrived (a missing one counts as zero).
//   LuInverse: V = W^-1 with W = P L U; dV = -V dW V, so gW = -V^T G V^T, gL = tril_-1(P^T gW U^T),
//     gU = triu(L^T P^T gW) (the forward reads only those parts of L and U).
namespace Engine.Autograd;

public static partial class F
{
    // ------------------------------------------------------------------ two-output ops

    /// <summary>Records an op with two outputs and one backward rule, which receives the gradient of
    /// each output (null where none reached it; never both null).</summary>
    public static (Var a, Var b) RecordPair(string op, Tensor ya, Tensor yb, Var[] inputs, Func<Tensor?, Tensor?, Tensor?[]> rule, params Tensor[] owned)
    {
        if (!GradMode.Enabled || !inputs.Any(v => v.RequiresGrad))
        {
            foreach (var t in owned) t.Dispose();
            return (new Var(ya), new Var(yb));
        }
        Tensor? ga = null, gb = null;
        // The joint node's own value is a scalar token; its incoming gradient (sum of two zero tokens) is ignored.
        var token = Tensor.Zeros([], ya.DType, ya.Device);
        var joint = Record(op, token, inputs, _ =>
        {
            try { return rule(ga, gb); }
            finally { ga?.Dispose(); gb?.Dispose(); ga = gb = null; }
        }, owned);
        var va = Record(op + "[0]", ya, [joint], g => { ga = g.Alias(); return [Tensor.Zeros([], g.DType, g.Device)]; });
        var vb = Record(op + "[1]", yb, [joint], g => { gb = g.Alias(); return [Tensor.Zeros([], g.DType, g.Device)]; });
        return (va, vb);
    }

    // ------------------------------------------------------------------ ActNorm

    /// <summary>y = (x + bias) * exp(logs) per channel; logdet (N) = H*W*sum(logs) for every sample.</summary>
    public static (Var y, Var logdet) ActNorm(Var x, Var bias, Var logs)
        => (ActNormApply(x, bias, logs), ActNormLogDet(logs, x.Size(0), (long)x.Size(2) * x.Size(3), false));

    /// <summary>x = y * exp(-logs) - bias per channel; logdet (N) = -H*W*sum(logs).</summary>
    public static (Var x, Var logdet) ActNormInverse(Var y, Var bias, Var logs)
        => (ActNormApply(y, bias, logs, inverse: true), ActNormLogDet(logs, y.Size(0), (long)y.Size(2) * y.Size(3), true));

    /// <summary>The ActNorm map alone (no logdet), e.g. inside a conditioning network.</summary>
    public static Var ActNormApply(Var x, Var bias, Var logs, bool inverse = false)
    {
        Tensor xd = x.Data, bd = bias.Data, ld = logs.Data;
        var y = inverse ? Ops.ActNormInverse(xd, bd, ld) : Ops.ActNorm(xd, bd, ld);
        return Record(inverse ? "ActNormInverse" : "ActNorm", y, [x, bias, logs], gy =>
        {
            var (gx, gb, gl) = Ops.ActNormBackward(xd, gy, bd, ld, inverse, x.RequiresGrad);
            return [gx, gb, gl];
        });
    }

    private static Var ActNormLogDet(Var logs, int n, long hw, bool inverse)
    {
        var s = Mul(Sum(logs), inverse ? -(double)hw : hw);
        return Expand(Reshape(s, 1), n);
    }

    // ------------------------------------------------------------------ affine epilogue

    /// <summary>y = (x + shift) * scale, logdet[n] = sum log(scale), with h (N, 2C, H, W) in cross
    /// order (shift = h[:, 0::2], raw = h[:, 1::2]) and scale = sigmoid(raw + 2) + eps.</summary>
    public static (Var y, Var logdet) AffineEpilogue(Var x, Var h, double eps) => Epilogue(x, h, eps, false);

    /// <summary>x = y / scale - shift, logdet[n] = -sum log(scale): the inverse of AffineEpilogue.</summary>
    public static (Var x, Var logdet) AffineEpilogueInverse(Var y, Var h, double eps) => Epilogue(y, h, eps, true);

    private static (Var, Var) Epilogue(Var x, Var h, double eps, bool inverse)
    {
        Tensor xd = x.Data, hd = h.Data;
        var (y, ld) = inverse ? Ops.AffineEpilogueInverse(xd, hd, eps) : Ops.AffineEpilogue(xd, hd, eps);
        return RecordPair(inverse ? "AffineEpilogueInverse" : "AffineEpilogue", y, ld, [x, h], (gy, gld) =>
        {
            var (gx, gh) = Ops.AffineEpilogueBackward(xd, hd, gy, gld, eps, inverse, x.RequiresGrad);
            return [gx, gh];
        });
    }

    // ------------------------------------------------------------------ W^-1 from LU factors

    /// <summary>W^-1 for W = P L U: L is read as unit lower (its strictly lower part), U as upper
    /// (diagonal included); computed by triangular solves (Ops.LuInverse). p is a constant.</summary>
    public static Var LuInverse(Tensor p, Var lower, Var upper)
    {
        Tensor ld = lower.Data, ud = upper.Data;
        var v = Ops.LuInverse(p, ld, ud);
        return Record("LuInverse", v, [lower, upper], g =>
        {
            int c = p.Size(0);
            using var vtg = Ops.Matmul(v, g, transA: true);           // V^T G
            using var gw0 = Ops.Matmul(vtg, v, transB: true);         // V^T G V^T
            using var ptg0 = Ops.Matmul(p, gw0, transA: true);        // P^T V^T G V^T = -P^T gW
            using var ptg = Ops.Neg(ptg0);
            Tensor? gl = null, gu = null;
            if (lower.RequiresGrad)
            {
                using var mu = TriangleMask(c, upper: true, g.DType, g.Device);
                using var uEff = Ops.Mul(ud, mu);
                using var full = Ops.Matmul(ptg, uEff, transB: true);  // P^T gW U^T
                using var ml = TriangleMask(c, upper: false, g.DType, g.Device);
                gl = Ops.Mul(full, ml);
            }
            if (upper.RequiresGrad)
            {
                using var ml = TriangleMask(c, upper: false, g.DType, g.Device);
                using var lStrict = Ops.Mul(ld, ml);
                using var eye = Identity(c, g.DType, g.Device);
                using var lEff = Ops.Add(lStrict, eye);
                using var full = Ops.Matmul(lEff, ptg, transA: true);  // L^T P^T gW
                using var mu = TriangleMask(c, upper: true, g.DType, g.Device);
                gu = Ops.Mul(full, mu);
            }
            return [gl, gu];
        });
    }

    /// <summary>(c, c) 0/1 mask: upper triangle with the diagonal, or the strictly lower triangle.</summary>
    public static Tensor TriangleMask(int c, bool upper, DType dtype, Device device)
    {
        var m = new double[c * c];
        for (int i = 0; i < c; i++)
            for (int j = 0; j < c; j++) m[i * c + j] = (upper ? j >= i : j < i) ? 1 : 0;
        return HostMatrix(m, c, dtype, device);
    }

    public static Tensor Identity(int c, DType dtype, Device device)
    {
        var m = new double[c * c];
        for (int i = 0; i < c; i++) m[i * c + i] = 1;
        return HostMatrix(m, c, dtype, device);
    }

    private static Tensor HostMatrix(double[] m, int c, DType dtype, Device device)
    {
        using var h = Tensor.FromArray(m, [c, c]);
        using var t = h.To(dtype);
        return t.To(device);
    }
}
