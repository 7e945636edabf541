// The flow-layer contract (DESIGN "Models"): Forward(x) -> (y, logdet) in the encode direction
// (image -> latent, the training/NLL direction) and Inverse(y) -> (x, logdet) as two methods, no
// reverse flag. logdet is a per-sample (N) Var, log|det dy/dx| for Forward and log|det dx/dy| for
// Inverse, so Forward's and Inverse's logdets cancel. cond is the conditioning tensor of the layers
// that take one (couplings, injectors) and must be null for the others.
// Parameters are Vars that require grad; buffers are fixed state saved with them (ActNorm's
// initialized flag, the 1x1 convolution's permutation and signs). Names follow the PyTorch modules
// of SRFlow/DeFlow where there is one (e.g. "fAffine.0.actnorm.logs"), so state dicts map 1:1.
// Data-dependent initialization is an explicit call (IDataInitialized.Initialize), never a side
// effect of Forward; its result, flag included, is part of the saved state.
using Engine.Autograd;

namespace Engine.Models.Flow;

public interface IFlowLayer
{
    /// <summary>Encode direction: y = f(x), logdet[n] = log|det J_f(x_n)|.</summary>
    (Var y, Var logdet) Forward(Var x, Var? cond = null);

    /// <summary>Decode direction: x = f^-1(y), logdet[n] = log|det J_f^-1(y_n)|.</summary>
    (Var x, Var logdet) Inverse(Var y, Var? cond = null);

    /// <summary>Trainable parameters, by name.</summary>
    IEnumerable<(string name, Var p)> Parameters();

    /// <summary>Fixed state saved with the parameters, by name.</summary>
    IEnumerable<(string name, Tensor t)> Buffers() => [];

    /// <summary>Channels of the conditioning tensor the layer takes; 0: it takes none (cond must be null).</summary>
    int CondChannels => 0;
}

/// <summary>A layer with a data-dependent initialization (ActNorm, and the layers that contain one).</summary>
public interface IDataInitialized
{
    /// <summary>Whether every data-dependent part has been initialized (saved with the weights).</summary>
    bool Initialized { get; }

    /// <summary>Initializes from a batch (x and, for conditional layers, cond) when not yet
    /// initialized, or always when force is set; returns whether anything changed. Records no graph.</summary>
    bool Initialize(Var x, Var? cond = null, bool force = false);
}

/// <summary>Helpers shared by the flow layers.</summary>
public static class FlowLayers
{
    /// <summary>The result of make, owned by no TensorScope (parameters, buffers); the temporaries
    /// make creates are freed.</summary>
    public static Tensor Persistent(Func<Tensor> make)
    {
        using var scope = TensorScope.Begin();
        return TensorScope.Detach(make());
    }

    public static Var Parameter(Tensor t, string name) => new(t, requiresGrad: true, name);

    /// <summary>A seed for sub-part k of a layer seeded with seed (SplitMix64 of both), so sibling
    /// parts and neighbouring seeds never share a random stream.</summary>
    public static ulong SubSeed(ulong seed, ulong k)
    {
        ulong z = seed + 0x9E3779B97F4A7C15UL * (k + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A per-sample logdet of zeros (layers whose Jacobian has determinant 1).</summary>
    public static Var ZeroLogDet(Var x) => new(Tensor.Zeros([x.Size(0)], x.DType, x.Device));

    /// <summary>Throws unless x is (N, channels, H, W) on the layer's dtype and device.</summary>
    public static void CheckInput(string layer, Var x, int channels, DType dtype, Device device, string what = "input")
    {
        var t = x.Data;
        if (t.Rank != 4 || t.Size(1) != channels)
            throw new ShapeMismatchException(layer, $"{what} {Describe(t)} must be (N, {channels}, H, W)");
        if (t.DType != dtype) throw new DTypeMismatchException(layer, $"{what} {Describe(t)} vs layer dtype {dtype.Name()}");
        if (t.Device != device) throw new DeviceMismatchException(layer, $"{what} {Describe(t)} vs layer device {device}");
    }

    /// <summary>Checks that cond is given exactly when the layer takes one, with condChannels channels
    /// and x's batch and spatial size.</summary>
    public static void CheckCond(string layer, Var x, Var? cond, int condChannels)
    {
        if (condChannels == 0)
        {
            if (cond != null) throw new InvalidArgumentException(layer, $"takes no conditioning, got {Describe(cond.Data)}");
            return;
        }
        if (cond == null) throw new InvalidArgumentException(layer, $"needs a conditioning tensor (N, {condChannels}, H, W), got none");
        var c = cond.Data; var t = x.Data;
        if (c.Rank != 4 || c.Size(0) != t.Size(0) || c.Size(1) != condChannels || c.Size(2) != t.Size(2) || c.Size(3) != t.Size(3))
            throw new ShapeMismatchException(layer, $"conditioning {Describe(c)} must be ({t.Size(0)}, {condChannels}, {t.Size(2)}, {t.Size(3)}) for input {Describe(t)}");
        if (c.DType != t.DType) throw new DTypeMismatchException(layer, $"conditioning {Describe(c)} vs input {Describe(t)}");
        if (c.Device != t.Device) throw new DeviceMismatchException(layer, $"conditioning {Describe(c)} vs input {Describe(t)}");
    }

    public static string Describe(Tensor t) => $"[{string.Join(", ", t.Layout.Shape)}] {t.DType.Name()} {t.Device}";

    /// <summary>Prefixes the names of a sub-layer's parameters or buffers.</summary>
    public static IEnumerable<(string, T)> Prefixed<T>(string prefix, IEnumerable<(string name, T v)> items)
        => items.Select(p => ($"{prefix}.{p.name}", p.v));

    /// <summary>Copies saved values into a layer's parameters and buffers by name (same shapes).
    /// Every parameter and buffer must be present; unknown names are an error.</summary>
    public static void Load(IFlowLayer layer, IReadOnlyDictionary<string, Tensor> state)
    {
        var targets = layer.Parameters().Select(p => (p.name, t: p.p.Data)).Concat(layer.Buffers()).ToList();
        foreach (var name in state.Keys)
            if (targets.All(t => t.name != name)) throw new InvalidArgumentException("FlowLayers.Load", $"unknown entry '{name}'");
        foreach (var (name, t) in targets)
        {
            if (!state.TryGetValue(name, out var v)) throw new InvalidArgumentException("FlowLayers.Load", $"missing entry '{name}' ({Describe(t)})");
            using var moved = v.To(t.Device);
            t.CopyFrom(moved);
        }
    }

    /// <summary>Host copies of every parameter and buffer, by name (the caller disposes them).</summary>
    public static Dictionary<string, Tensor> State(IFlowLayer layer)
    {
        var r = new Dictionary<string, Tensor>();
        foreach (var (name, p) in layer.Parameters()) r[name] = Persistent(() => p.Data.To(Device.Cpu).Clone());
        foreach (var (name, t) in layer.Buffers()) r[name] = Persistent(() => t.To(Device.Cpu).Clone());
        return r;
    }
}

/// <summary>Layers applied in order (Forward) and in reverse order (Inverse); logdets add up.</summary>
public sealed class FlowSequence(params IFlowLayer[] layers) : IFlowLayer, IDataInitialized
{
    public IReadOnlyList<IFlowLayer> Layers { get; } = layers;

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        Var? total = null;
        foreach (var l in Layers)
        {
            var (y, ld) = l.Forward(x, Route(l, cond));
            total = total == null ? ld : F.Add(total, ld);
            x = y;
        }
        return (x, total ?? FlowLayers.ZeroLogDet(x));
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        Var? total = null;
        for (int i = Layers.Count - 1; i >= 0; i--)
        {
            var (x, ld) = Layers[i].Inverse(y, Route(Layers[i], cond));
            total = total == null ? ld : F.Add(total, ld);
            y = x;
        }
        return (y, total ?? FlowLayers.ZeroLogDet(y));
    }

    /// <summary>The conditioning goes to the layers that take one.</summary>
    private static Var? Route(IFlowLayer l, Var? cond) => l.CondChannels > 0 ? cond : null;

    /// <summary>The conditioning width of the conditional layers (all must agree), 0 if none takes one.</summary>
    public int CondChannels { get; } = layers.Select(l => l.CondChannels).Where(c => c > 0).Distinct().ToArray() switch
    {
        [] => 0,
        [var c] => c,
        var cs => throw new InvalidArgumentException("FlowSequence", $"layers take conditionings of different widths: {string.Join(", ", cs)}"),
    };

    public IEnumerable<(string name, Var p)> Parameters() => Layers.SelectMany((l, i) => FlowLayers.Prefixed($"{i}", l.Parameters()));
    public IEnumerable<(string name, Tensor t)> Buffers() => Layers.SelectMany((l, i) => FlowLayers.Prefixed($"{i}", l.Buffers()));

    public bool Initialized => Layers.OfType<IDataInitialized>().All(l => l.Initialized);

    /// <summary>Initializes each layer on the batch as it arrives there (layer i sees the output of
    /// layers 0..i-1, each already initialized), the order a first training step would use.</summary>
    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        using var ng = GradMode.NoGrad();
        bool any = false;
        foreach (var l in Layers)
        {
            if (l is IDataInitialized d) any |= d.Initialize(x, Route(l, cond), force);
            x = l.Forward(x, Route(l, cond)).y;
        }
        return any;
    }
}
