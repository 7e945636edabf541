// Module: the unit of a network, as in torch.nn. A module owns named parameters (Var leaves that
// require grad), named buffers (tensors saved with the weights but not trained, e.g. ActNorm's
// initialized flag or an EMA count) and named children; names compose with dots
// ("body.3.rdb1.conv2.weight"), the same keys a PyTorch state_dict uses, so weights move between
// the two by name. Parameters and buffers live outside any TensorScope (they are created under
// TensorScope.Suspend) and are freed by Dispose.
using Engine.Autograd;

namespace Engine.Models.Nn;

public abstract class Module : IDisposable
{
    private readonly List<(string Name, Var Param)> _params = [];
    private readonly List<(string Name, Tensor Buffer)> _buffers = [];
    private readonly List<(string Name, Module Child)> _children = [];
    private bool _disposed;

    /// <summary>Training mode (the default) or evaluation mode; layers such as batch norm and dropout read it.</summary>
    public bool IsTraining { get; private set; } = true;

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool on = true)
    {
        IsTraining = on;
        foreach (var (_, c) in _children) c.Train(on);
        return this;
    }

    public Module Eval() => Train(false);

    /// <summary>Registers a parameter: a leaf Var that requires grad, owning data (created outside any scope).</summary>
    protected Var Param(string name, Tensor data)
    {
        CheckName(name);
        var v = new Var(data, requiresGrad: true, name: name);
        _params.Add((name, v));
        return v;
    }

    /// <summary>Registers an existing Var as a parameter (e.g. one built by a flow layer).</summary>
    protected Var Param(string name, Var v)
    {
        CheckName(name);
        _params.Add((name, v));
        return v;
    }

    /// <summary>Registers a buffer: saved and loaded with the weights, never trained.</summary>
    protected Tensor Buffer(string name, Tensor data)
    {
        CheckName(name);
        _buffers.Add((name, data));
        return data;
    }

    /// <summary>Registers a child module under a name (its parameters get the prefix "name.").</summary>
    protected T Child<T>(string name, T module) where T : Module
    {
        CheckName(name);
        _children.Add((name, module));
        return module;
    }

    private void CheckName(string name)
    {
        if (string.IsNullOrEmpty(name) || name.Contains('.'))
            throw new InvalidArgumentException(GetType().Name, $"a parameter, buffer or child name must be non-empty and have no '.', got '{name}'");
        if (_params.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _children.Any(c => c.Name == name))
            throw new InvalidArgumentException(GetType().Name, $"the name '{name}' is registered twice");
    }

    public IEnumerable<(string Name, Module Child)> Children() => _children;

    /// <summary>Every parameter with its dotted name, in registration order, depth first.</summary>
    public IEnumerable<(string Name, Var Param)> NamedParameters(string prefix = "")
    {
        foreach (var (n, p) in _params) yield return (prefix + n, p);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedParameters(prefix + n + ".")) yield return x;
    }

    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach (var (n, b) in _buffers) yield return (prefix + n, b);
        foreach (var (n, c) in _children)
            foreach (var x in c.NamedBuffers(prefix + n + ".")) yield return x;
    }

    public IReadOnlyList<Var> Parameters() => NamedParameters().Select(p => p.Param).ToList();

    /// <summary>The number of parameter elements (PyTorch's sum(p.numel() for p in parameters())).</summary>
    public long ParameterCount() => NamedParameters().Sum(p => p.Param.Numel);

    /// <summary>Parameters and buffers by dotted name (aliases of the live tensors, not copies).</summary>
    public Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (n, p) in NamedParameters()) d[n] = p.Data;
        foreach (var (n, b) in NamedBuffers()) d[n] = b;
        return d;
    }

    /// <summary>Copies values into the parameters and buffers by name (converting dtype and device).
    /// strict: a missing or unexpected name is an error listing them; a shape mismatch is always
    /// an error naming the tensor and both shapes. Nothing is copied unless everything checks.</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        var mine = StateDict();
        var missing = mine.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var unexpected = state.Keys.Where(k => !mine.ContainsKey(k)).ToList();
        if (strict && (missing.Count > 0 || unexpected.Count > 0))
            throw new StateDictException(GetType().Name,
                (missing.Count > 0 ? $"missing {missing.Count}: {Preview(missing)}" : "") +
                (missing.Count > 0 && unexpected.Count > 0 ? "; " : "") +
                (unexpected.Count > 0 ? $"unexpected {unexpected.Count}: {Preview(unexpected)}" : ""));
        var bad = mine.Where(kv => state.TryGetValue(kv.Key, out var s) && !s.Shape.SequenceEqual(kv.Value.Shape))
            .Select(kv => $"'{kv.Key}': model {Fmt.Shape(kv.Value.Shape)}, checkpoint {Fmt.Shape(state[kv.Key].Shape)}").ToList();
        if (bad.Count > 0)
            throw new StateDictException(GetType().Name, $"shape mismatch for {bad.Count} tensor(s): {string.Join("; ", bad.Take(10))}");
        using var scope = TensorScope.Begin();
        foreach (var (k, dst) in mine)
        {
            if (!state.TryGetValue(k, out var src)) continue;
            var s = src;
            if (s.DType != dst.DType) s = s.To(dst.DType);
            if (s.Device != dst.Device) s = s.To(dst.Device);
            dst.CopyFrom(s);
        }
    }

    private static string Preview(List<string> names) => string.Join(", ", names.Take(10)) + (names.Count > 10 ? ", ..." : "");

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var (_, p) in NamedParameters()) p.ZeroGrad();
    }

    public virtual void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var (_, p) in _params) { p.ZeroGrad(); p.Data.Dispose(); }
        foreach (var (_, b) in _buffers) b.Dispose();
        foreach (var (_, c) in _children) c.Dispose();
        GC.SuppressFinalize(this);
    }
}

/// <summary>A module that maps one tensor to one tensor.</summary>
public abstract class Layer : Module
{
    public abstract Var Forward(Var x);
}

/// <summary>Layers applied in order; children named "0", "1", ... as torch.nn.Sequential.</summary>
public sealed class Sequential : Layer
{
    private readonly List<Layer> _layers = [];

    public Sequential(params Layer[] layers)
    {
        foreach (var l in layers) Add(l);
    }

    public Sequential Add(Layer l)
    {
        Child(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), l);
        _layers.Add(l);
        return this;
    }

    public int Count => _layers.Count;
    public Layer this[int i] => _layers[i];

    public override Var Forward(Var x)
    {
        foreach (var l in _layers) x = l.Forward(x);
        return x;
    }
}

/// <summary>A state dict that does not fit the module: missing or unexpected names, shape mismatches.</summary>
public sealed class StateDictException(string module, string detail)
    : EngineException($"load_state_dict({module}): {detail}");

/// <summary>Children named 0, 1, 2, ... (PyTorch's nn.ModuleList): the per-layer lists of a hierarchical model.</summary>
public sealed class ModuleList<T> : Module where T : Module
{
    private readonly List<T> _items = [];

    public ModuleList(IEnumerable<T> items)
    {
        foreach (var m in items) _items.Add(Child(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), m));
    }

    public int Count => _items.Count;
    public T this[int i] => _items[i];
}
