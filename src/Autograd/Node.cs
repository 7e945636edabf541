// A recorded op: its inputs, the backward rule, and the tensors it alone keeps for backward
// (released as soon as the rule ran).
namespace Engine.Autograd;

/// <summary>Backward rule: given dL/dy, returns dL/dinput for each input (null where not needed).</summary>
public delegate Tensor?[] BackwardRule(Tensor gy);

internal sealed class Node(string op, Var[] inputs, BackwardRule rule, Tensor[] owned)
{
    public string Op { get; } = op;
    public Var[] Inputs { get; } = inputs;
    public BackwardRule? Rule { get; private set; } = rule;
    private Tensor[]? _owned = owned;

    public void Release()
    {
        Rule = null;
        if (_owned != null) foreach (var t in _owned) t.Dispose();
        _owned = null;
    }
}

/// <summary>Grad mode: inside NoGrad() ops record nothing.</summary>
public static class GradMode
{
    [ThreadStatic] private static int _disabled;
    public static bool Enabled => _disabled == 0;

    public static IDisposable NoGrad() { _disabled++; return new Restore(); }

    private sealed class Restore : IDisposable
    {
        private bool _done;
        public void Dispose() { if (!_done) { _done = true; _disabled--; } }
    }
}

public static partial class F
{
    /// <summary>Wraps an op result: records a node when grad mode is on and any input requires grad.
    /// `owned` are tensors only the rule uses (freed right after it runs, or with the scope).</summary>
    public static Var Record(string op, Tensor y, Var[] inputs, BackwardRule rule, params Tensor[] owned)
    {
        if (GradMode.Enabled && inputs.Any(v => v.RequiresGrad))
            return new Var(y, new Node(op, inputs, rule, owned));
        foreach (var t in owned) t.Dispose();
        return new Var(y);
    }

}
