// The flow layers under test, built small, with every parameter randomized (so no layer sits at
// its identity init), for the shared flow test base (FlowLayerTests). Each case exposes a bijection
// over whole tensors: Forward x -> (y, logdet), Inverse y -> (x, logdet); for Split that is
// x -> ([kept || eps], Jacobian logdet) by Encode / Decode (its Forward / Inverse also score eps
// under the prior, tested in FlowLayerSpecTests).
using Engine.Autograd;
using Engine.Models.Flow;
using Engine.Tests.Support;

namespace Engine.Tests.Flow;

public sealed class FlowCase
{
    public required string Name { get; init; }
    public required IFlowLayer Layer { get; init; }
    /// <summary>Input shape for the invertibility tests (N > 1) and for the Jacobian test (N = 1).</summary>
    public required int[] Shape { get; init; }
    public required int[] TinyShape { get; init; }
    public Var? Cond { get; init; }
    public Var? TinyCond { get; init; }
    /// <summary>Tolerance of |logdet - log|det J|| (absolute): Split's 1e-6 in the division is not in its logdet.</summary>
    public double JacobianTol { get; init; } = 1e-6;
    /// <summary>Needs convolutions (cuDNN on the CUDA backend; the host emulation has none).</summary>
    public bool UsesConv { get; init; }

    public Func<Var, Var?, (Var y, Var logdet)> Forward => Layer is Split s
        ? (x, c) => { var (k, e, ld) = s.Encode(x, c); return (F.Concat([k, e], 1), ld); }
        : Layer.Forward;

    public Func<Var, Var?, (Var x, Var logdet)> Inverse => Layer is Split s
        ? (y, c) => s.Decode(F.Narrow(y, 1, 0, s.Pass), F.Narrow(y, 1, s.Pass, s.Consume), c)
        : Layer.Inverse;
}

public static class FlowLayerCases
{
    public static readonly string[] Names = ["actnorm", "invconv_lu", "invconv_lu_c3", "squeeze", "coupling", "coupling_uncond", "coupling_srflow", "injector", "split", "split_cond", "deflow_step", "transition_step"];

    /// <summary>Builds case `name` in dtype on device, parameters drawn from a generator seeded by the name.</summary>
    public static FlowCase Build(string name, DType dtype, Device device)
    {
        var rng = TestData.Rng("FlowLayerCases." + name);
        Var? Cond(int[] shape) => new Var(Rand(rng, shape, -1, 1, dtype, device));
        FlowCase c = name switch
        {
            "actnorm" => new() { Name = name, Layer = new ActNorm(4, dtype, device), Shape = [2, 4, 3, 5], TinyShape = [1, 4, 2, 2] },
            "invconv_lu" => new() { Name = name, Layer = new InvConv1x1LU(8, 11, dtype, device), Shape = [2, 8, 3, 3], TinyShape = [1, 8, 2, 2] },
            "invconv_lu_c3" => new() { Name = name, Layer = new InvConv1x1LU(3, 12, dtype, device), Shape = [3, 3, 4, 2], TinyShape = [1, 3, 3, 3] },
            "squeeze" => new() { Name = name, Layer = new Squeeze(), Shape = [2, 3, 4, 6], TinyShape = [1, 2, 4, 4] },
            "coupling" => new()
            {
                Name = name, Layer = new AffineCoupling(4, 3, 5, seed: 13, dtype: dtype, device: device), Shape = [2, 4, 4, 3], TinyShape = [1, 4, 2, 2],
                Cond = Cond([2, 3, 4, 3]), TinyCond = Cond([1, 3, 2, 2]), UsesConv = true,
            },
            "coupling_uncond" => new() { Name = name, Layer = new AffineCoupling(5, 0, 4, seed: 14, dtype: dtype, device: device), Shape = [2, 5, 3, 3], TinyShape = [1, 5, 2, 2], UsesConv = true },
            "coupling_srflow" => new()
            {
                Name = name, Layer = new AffineCoupling(4, 2, 4, eps: 1e-4, multReverse: false, seed: 15, dtype: dtype, device: device), Shape = [2, 4, 3, 3], TinyShape = [1, 4, 2, 2],
                Cond = Cond([2, 2, 3, 3]), TinyCond = Cond([1, 2, 2, 2]), UsesConv = true,
            },
            "injector" => new()
            {
                Name = name, Layer = new AffineInjector(4, 3, 5, seed: 16, dtype: dtype, device: device), Shape = [2, 4, 4, 3], TinyShape = [1, 4, 2, 2],
                Cond = Cond([2, 3, 4, 3]), TinyCond = Cond([1, 3, 2, 2]), UsesConv = true,
            },
            "split" => new() { Name = name, Layer = new Split(4, dtype: dtype, device: device), Shape = [2, 4, 3, 4], TinyShape = [1, 4, 2, 2], JacobianTol = 1e-4, UsesConv = true },
            "split_cond" => new()
            {
                Name = name, Layer = new Split(6, condChannels: 2, dtype: dtype, device: device), Shape = [2, 6, 3, 3], TinyShape = [1, 6, 2, 2],
                Cond = Cond([2, 2, 3, 3]), TinyCond = Cond([1, 2, 2, 2]), JacobianTol = 1e-4, UsesConv = true,
            },
            // DeFlow's flow step in the encode direction: ActNorm -> InvConv1x1 -> coupling^-1 -> injector^-1
            "deflow_step" => new()
            {
                Name = name,
                Layer = new FlowSequence(new ActNorm(4, dtype, device), new InvConv1x1LU(4, 17, dtype, device),
                    new AffineCoupling(4, 3, 4, seed: 18, dtype: dtype, device: device), new AffineInjector(4, 3, 4, seed: 19, dtype: dtype, device: device)),
                Shape = [2, 4, 4, 4], TinyShape = [1, 4, 2, 2], Cond = Cond([2, 3, 4, 4]), TinyCond = Cond([1, 3, 2, 2]), UsesConv = true,
            },
            // DeFlow's transition step (spec 3.7), after a squeeze: Squeeze -> ActNorm -> InvConv1x1
            "transition_step" => new()
            {
                Name = name, Layer = new FlowSequence(new Squeeze(), new ActNorm(8, dtype, device), new InvConv1x1LU(8, 20, dtype, device)),
                Shape = [2, 2, 4, 6], TinyShape = [1, 2, 4, 4],
            },
            _ => throw new ArgumentException($"no flow case {name}"),
        };
        Randomize(c.Layer, rng);
        return c;
    }

    /// <summary>Every parameter drawn from U(-0.3, 0.3): away from the zero init, mild enough that
    /// scales stay well inside (eps, 1 + eps) and W well conditioned.</summary>
    public static void Randomize(IFlowLayer layer, System.Random rng)
    {
        foreach (var (_, p) in layer.Parameters())
        {
            using var r = Rand(rng, p.Data.Shape, -0.3, 0.3, p.DType, p.Device);
            p.Data.CopyFrom(r);
        }
        foreach (var a in Initializable(layer)) a.MarkInitialized();
    }

    private static IEnumerable<ActNorm> Initializable(IFlowLayer layer) => layer switch
    {
        ActNorm a => [a],
        FlowSequence s => s.Layers.SelectMany(Initializable),
        AffineCoupling c => [c.Net.Conv1.Norm, c.Net.Conv2.Norm],
        AffineInjector i => [i.Net.Conv1.Norm, i.Net.Conv2.Norm],
        _ => [],
    };

    public static Tensor Rand(System.Random rng, int[] shape, double lo, double hi, DType dtype, Device device)
    {
        using var t = Tensor.FromArray(TestData.Doubles(rng, shape.Aggregate(1, (a, b) => a * b), lo, hi), shape);
        using var typed = t.To(dtype);
        return typed.To(device);
    }
}
