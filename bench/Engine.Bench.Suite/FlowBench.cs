// Benchmark hook for the fused flow ops (not wired into the CLI yet): each case is a fused op and
// the same computation composed from primitive Ops, on DeFlow's level shapes (spec section 2:
// 12x80x80, 24x40x40, 96x20x20 at the training batch 8) and a large 32x128x128 at N16, f32.
//   actnorm fwd / bwd              Ops.ActNorm / ActNormBackward vs add, exp, mul (and two sums)
//   coupling epilogue fwd / bwd    DeFlow's encode direction, x / scale - shift with the per-sample
//                                  logdet, vs strided slices, sigmoid, add, div, sub, log, sum
//                                  (backward: the gradient of x and of h, interleaved by a stack)
//   invconv1x1 fwd                 our matmul of (C, C) with the (N, C, H*W) view vs a 1x1 conv2d
//                                  (what the reference implementation runs)
// bytesFloor is the DRAM traffic a perfect single-pass implementation needs (each input read once,
// each output written once; the C-sized parameters are ignored), for an efficiency figure against
// the bandwidth measured in the same run. Inputs are random (never zero) and live outside any
// TensorScope; those of a shape are freed when the enumeration moves to the next shape or ends, so
// run each case as it is yielded (do not buffer the sequence). Each action frees its outputs.
namespace Engine.Bench;

public sealed record FlowBenchShape(int N, int C, int H, int W)
{
    public override string ToString() => $"{C}x{H}x{W} n{N}";
    public long Numel => (long)N * C * H * W;
}

public static class FlowBench
{
    public const double Eps = 0.001;

    public static readonly FlowBenchShape[] Shapes = [new(8, 12, 80, 80), new(8, 24, 40, 40), new(8, 96, 20, 20), new(16, 32, 128, 128)];

    public static IEnumerable<(string name, long bytesFloor, Action fused, Action composed)> Cases(Device d) => Cases(d, Shapes);

    public static IEnumerable<(string name, long bytesFloor, Action fused, Action composed)> Cases(Device d, IReadOnlyList<FlowBenchShape> shapes)
    {
        ulong seed = 1;
        foreach (var s in shapes)
        {
            var owned = new List<Tensor>();
            try
            {
                Tensor R(int[] shape, double lo = -1, double hi = 1)
                {
                    using (TensorScope.Suspend())
                    {
                        var t = Tensor.Uniform(shape, seed++, 0, lo, hi, DType.F32, d);
                        owned.Add(t);
                        return t;
                    }
                }
                int n = s.N, c = s.C, h = s.H, w = s.W;
                long e = s.Numel, f = sizeof(float);
                int[] x4 = [n, c, h, w];
                var x = R(x4); var gy = R(x4);
                var bias = R([c]); var logs = R([c], -0.5, 0.5);
                var hh = R([n, 2 * c, h, w], -3, 3); var gld = R([n]);
                var wt = R([c, c], -0.3, 0.3);

                // ---- ActNorm
                yield return ($"actnorm fwd {s}", 2 * e * f,
                    () => { using var sc = TensorScope.Begin(); Ops.ActNorm(x, bias, logs); },
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        Ops.Mul(Ops.Add(x, bias.Reshape(1, c, 1, 1)), Ops.Exp(logs.Reshape(1, c, 1, 1)));
                    });
                yield return ($"actnorm bwd {s}", 3 * e * f,
                    () => { using var sc = TensorScope.Begin(); Ops.ActNormBackward(x, gy, bias, logs, inverse: false); },
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        var gx = Ops.Mul(gy, Ops.Exp(logs.Reshape(1, c, 1, 1)));
                        Ops.Sum(gx, [0, 2, 3]);
                        Ops.Sum(Ops.Mul(gx, Ops.Add(x, bias.Reshape(1, c, 1, 1))), [0, 2, 3]);
                    });

                // ---- coupling / injector epilogue, DeFlow's encode direction
                yield return ($"coupling epilogue fwd {s}", 4 * e * f,
                    () => { using var sc = TensorScope.Begin(); Ops.AffineEpilogueInverse(x, hh, Eps); },
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        var (shift, scale) = ComposedScale(hh, c);
                        Ops.Sub(Ops.Div(x, scale), shift);
                        Ops.Neg(Ops.Sum(Ops.Log(scale), [1, 2, 3]));
                    });
                yield return ($"coupling epilogue bwd {s}", 7 * e * f,
                    () => { using var sc = TensorScope.Begin(); Ops.AffineEpilogueBackward(x, hh, gy, gld, Eps, inverse: true); },
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        var raw = hh.Slice(1, 1, 2 * c, 2);
                        var sg = Ops.Sigmoid(Ops.Add(raw, 2.0));
                        var scale = Ops.Add(sg, Eps);
                        var ds = Ops.Mul(sg, Ops.BinaryScalar(BinaryOp.Sub, sg, 1.0, scalarFirst: true));
                        var gx = Ops.Div(gy, scale);
                        var gshift = Ops.Neg(gy);
                        var t = Ops.Add(Ops.Mul(gx, x), gld.Reshape(n, 1, 1, 1));
                        var graw = Ops.Neg(Ops.Div(Ops.Mul(t, ds), scale));
                        Ops.Stack([gshift, graw], 2).Reshape(n, 2 * c, h, w); // cross order
                    });

                // ---- invertible 1x1 convolution
                yield return ($"invconv1x1 fwd {s}", 2 * e * f,
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        Ops.Matmul(wt, x.Reshape(n, c, h * w)).Reshape(n, c, h, w);
                    },
                    () =>
                    {
                        using var sc = TensorScope.Begin();
                        Ops.Conv2d(x, wt.Reshape(c, c, 1, 1), null, new Conv2dParams(1, 1, 0, 0, 1, 1, 1));
                    });
            }
            finally
            {
                foreach (var t in owned) t.Dispose();
            }
        }
    }

    /// <summary>(shift, scale) from h in cross order: shift = h[:, 0::2], scale = sigmoid(h[:, 1::2] + 2) + eps.</summary>
    private static (Tensor shift, Tensor scale) ComposedScale(Tensor h, int c)
    {
        var shift = h.Slice(1, 0, 2 * c, 2);
        var scale = Ops.Add(Ops.Sigmoid(Ops.Add(h.Slice(1, 1, 2 * c, 2), 2.0)), Eps);
        return (shift, scale);
    }
}
