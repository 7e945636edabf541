// Deterministic lifetime: every tensor created while a scope is active is registered with it and
// disposed when the scope ends, unless it was kept (Keep moves it to the enclosing scope, or out of
// all scopes). Parameters and optimizer state are created under TensorScope.Suspend() or outside
// any scope, so nothing collects them.
namespace Engine;

public sealed class TensorScope : IDisposable
{
    [ThreadStatic] private static TensorScope? _current;
    private readonly TensorScope? _parent;
    private readonly bool _tracking;
    private readonly List<Tensor> _owned = [];
    private bool _disposed;

    private TensorScope(TensorScope? parent, bool tracking) { _parent = parent; _tracking = tracking; }

    public static TensorScope? Current => _current is { _tracking: true } c ? c : null;

    /// <summary>Starts a scope: tensors created on this thread until it is disposed belong to it.</summary>
    public static TensorScope Begin() => _current = new TensorScope(_current, true);

    /// <summary>Starts a region in which new tensors belong to no scope (parameters, long-lived state).</summary>
    public static TensorScope Suspend() => _current = new TensorScope(_current, false);

    public int Count => _owned.Count(t => t.Scope == this && !t.IsDisposed);

    internal static void Register(Tensor t)
    {
        var s = Current;
        if (s == null) return;
        t.Scope = s;
        s._owned.Add(t);
    }

    /// <summary>Keeps t alive past this scope: it moves to the nearest enclosing tracking scope
    /// (or to none), and the caller or that scope owns it from now on.</summary>
    public Tensor Keep(Tensor t)
    {
        if (t.Scope != this) return t;
        var p = _parent;
        while (p != null && !p._tracking) p = p._parent;
        t.Scope = p;
        p?._owned.Add(t);
        return t;
    }

    /// <summary>Takes t out of whatever scope owns it; the caller disposes it.</summary>
    public static Tensor Detach(Tensor t)
    {
        t.Scope = null;
        return t;
    }

    public void Dispose()
    {
        if (_disposed) return;
        if (_current != this)
            throw new InvalidOperationException("TensorScope disposed out of order (scopes must nest)");
        _disposed = true;
        _current = _parent;
        foreach (var t in _owned)
            if (t.Scope == this) t.Dispose();
        _owned.Clear();
    }
}
