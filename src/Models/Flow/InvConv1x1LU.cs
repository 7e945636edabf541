// Invertible 1x1 convolution, LU-parameterized (Glow; DeFlow Permutations.InvertibleConv1x1 with
// LU_decomposed, spec 3.4). W = P (L~ + I) (U~ + diag(sign_s * exp(log_s))), L~ = l masked strictly
// lower, U~ = u masked strictly upper. P (C, C) and sign_s (C) are fixed buffers; l, u (full C x C,
// half of each entry set is dead, as in the reference) and log_s (C) are learned.
// Init: W0 = Q of the QR decomposition of a C x C standard normal matrix (Philox, seeded), then
// W0 = P L U with partial pivoting (scipy.linalg.lu's convention), s = diag(U).
// Forward y = W x per pixel, a matmul of (C, C) with the (N, C, H*W) view; logdet = H*W*sum(log_s).
// Inverse x = W^-1 y with W^-1 = U^-1 L^-1 P^T from triangular solves (Ops.LuInverse; the reference
// inverts the triangles in float64 too), differentiable w.r.t. l, u, log_s; logdet = -H*W*sum(log_s).
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class InvConv1x1LU : IFlowLayer
{
    public int Channels { get; }
    public DType DType { get; }
    public Device Device { get; }
    /// <summary>Fixed permutation matrix (C, C).</summary>
    public Tensor P { get; }
    /// <summary>Fixed signs of the diagonal of U (C).</summary>
    public Tensor SignS { get; }
    public Var L { get; }
    public Var U { get; }
    public Var LogS { get; }
    private readonly Tensor _lowerMask, _upperMask, _eye; // strictly lower, strictly upper, identity

    public InvConv1x1LU(int channels, ulong seed = 0, DType dtype = DType.F32, Device? device = null)
    {
        if (channels < 1) throw new InvalidArgumentException("InvConv1x1LU", $"channels must be positive, got {channels}");
        Channels = channels; DType = dtype; Device = device ?? Device.Cpu;
        int c = channels;
        var w0 = SmallMatrix.RandomOrthogonal(c, seed);
        var (p, l, u) = SmallMatrix.LuDecompose(w0, c);
        var sign = new double[c]; var logS = new double[c];
        var uStrict = new double[c * c];
        for (int i = 0; i < c; i++)
        {
            sign[i] = Math.Sign(u[i * c + i]);
            logS[i] = Math.Log(Math.Abs(u[i * c + i]));
            for (int j = i + 1; j < c; j++) uStrict[i * c + j] = u[i * c + j];
        }
        var dev = Device;
        Tensor Make(double[] v, int[] shape) => FlowLayers.Persistent(() => Tensor.FromArray(v, shape).To(dtype).To(dev));
        P = Make(p, [c, c]);
        SignS = Make(sign, [c]);
        L = FlowLayers.Parameter(Make(l, [c, c]), "l");
        U = FlowLayers.Parameter(Make(uStrict, [c, c]), "u");
        LogS = FlowLayers.Parameter(Make(logS, [c]), "log_s");
        _lowerMask = FlowLayers.Persistent(() => F.TriangleMask(c, upper: false, dtype, dev));
        _upperMask = FlowLayers.Persistent(() => { using var m = F.TriangleMask(c, upper: false, dtype, dev); return m.T().Contiguous(); });
        _eye = FlowLayers.Persistent(() => F.Identity(c, dtype, dev));
    }

    /// <summary>L~ + I: unit lower triangular.</summary>
    public Var Lower() => F.Add(F.Mul(L, new Var(_lowerMask)), new Var(_eye));

    /// <summary>U~ + diag(sign_s * exp(log_s)): upper triangular.</summary>
    public Var Upper()
    {
        var d = F.Mul(new Var(SignS), F.Exp(LogS));
        var diag = F.Mul(new Var(_eye), F.Reshape(d, 1, Channels)); // row vector broadcast onto I
        return F.Add(F.Mul(U, new Var(_upperMask)), diag);
    }

    /// <summary>W = P L U (C, C), out[o] = sum_i W[o, i] x[i].</summary>
    public Var Weight() => F.Matmul(new Var(P), F.Matmul(Lower(), Upper()));

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        Check(x, cond);
        return (Apply(Weight(), x), LogDet(x, 1));
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        Check(y, cond);
        return (Apply(F.LuInverse(P, Lower(), Upper()), y), LogDet(y, -1));
    }

    private static Var Apply(Var w, Var x)
    {
        int n = x.Size(0), c = x.Size(1), h = x.Size(2), wd = x.Size(3);
        var y = F.Matmul(w, F.Reshape(x, n, c, h * wd)); // (C, C) @ (N, C, HW), W broadcast over N
        return F.Reshape(y, n, c, h, wd);
    }

    private Var LogDet(Var x, double sign)
    {
        double hw = (double)x.Size(2) * x.Size(3);
        return F.Expand(F.Reshape(F.Mul(F.Sum(LogS), sign * hw), 1), x.Size(0));
    }

    private void Check(Var x, Var? cond)
    {
        FlowLayers.CheckInput("InvConv1x1LU", x, Channels, DType, Device);
        FlowLayers.CheckCond("InvConv1x1LU", x, cond, 0);
    }

    public IEnumerable<(string name, Var p)> Parameters() => [("l", L), ("u", U), ("log_s", LogS)];
    public IEnumerable<(string name, Tensor t)> Buffers() => [("p", P), ("sign_s", SignS)];
}

/// <summary>Small dense matrices on the host (row-major double[], C x C), for initializations.</summary>
public static class SmallMatrix
{
    /// <summary>Q of the QR decomposition of a C x C standard normal matrix drawn from Philox(seed):
    /// Householder reflections, so Q is orthogonal to rounding.</summary>
    public static double[] RandomOrthogonal(int c, ulong seed)
    {
        var a = new double[c * c];
        Engine.Random.Philox.FillNormal(a, seed, 0, 0, 1);
        var q = new double[c * c];
        for (int i = 0; i < c; i++) q[i * c + i] = 1;
        var v = new double[c];
        for (int k = 0; k < c - 1; k++)
        {
            // Reflection H = I - 2 v v^T / (v^T v) that zeroes column k of a below the diagonal.
            double norm = 0;
            for (int i = k; i < c; i++) norm += a[i * c + k] * a[i * c + k];
            norm = Math.Sqrt(norm);
            if (norm == 0) continue;
            double alpha = a[k * c + k] > 0 ? -norm : norm;
            for (int i = 0; i < c; i++) v[i] = i < k ? 0 : a[i * c + k];
            v[k] -= alpha;
            double vv = 0;
            for (int i = k; i < c; i++) vv += v[i] * v[i];
            if (vv == 0) continue;
            for (int j = 0; j < c; j++)
            {
                double s = 0; // a = H a
                for (int i = k; i < c; i++) s += v[i] * a[i * c + j];
                s *= 2 / vv;
                for (int i = k; i < c; i++) a[i * c + j] -= s * v[i];
            }
            for (int i = 0; i < c; i++)
            {
                double s = 0; // q = q H
                for (int j = k; j < c; j++) s += q[i * c + j] * v[j];
                s *= 2 / vv;
                for (int j = k; j < c; j++) q[i * c + j] -= s * v[j];
            }
        }
        return q;
    }

    /// <summary>A = P L U with partial pivoting (scipy.linalg.lu's convention): P a permutation
    /// matrix, L unit lower, U upper.</summary>
    public static (double[] p, double[] l, double[] u) LuDecompose(double[] a, int c)
    {
        var u = (double[])a.Clone();
        var l = new double[c * c];
        var perm = Enumerable.Range(0, c).ToArray(); // row i of P^T A is row perm[i] of A
        for (int k = 0; k < c; k++)
        {
            int piv = k;
            for (int i = k + 1; i < c; i++) if (Math.Abs(u[i * c + k]) > Math.Abs(u[piv * c + k])) piv = i;
            if (piv != k)
            {
                for (int j = 0; j < c; j++) (u[k * c + j], u[piv * c + j]) = (u[piv * c + j], u[k * c + j]);
                for (int j = 0; j < k; j++) (l[k * c + j], l[piv * c + j]) = (l[piv * c + j], l[k * c + j]);
                (perm[k], perm[piv]) = (perm[piv], perm[k]);
            }
            double d = u[k * c + k];
            if (d == 0) throw new ArgumentException($"matrix is singular (zero pivot in column {k})");
            for (int i = k + 1; i < c; i++)
            {
                double f = u[i * c + k] / d;
                l[i * c + k] = f;
                for (int j = k; j < c; j++) u[i * c + j] -= f * u[k * c + j];
                u[i * c + k] = 0;
            }
        }
        for (int i = 0; i < c; i++) l[i * c + i] = 1;
        var p = new double[c * c];
        for (int i = 0; i < c; i++) p[perm[i] * c + i] = 1; // A = P (L U): (P^T A)[i] = A[perm[i]]
        return (p, l, u);
    }
}
