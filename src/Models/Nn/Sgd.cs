// Stochastic gradient descent with momentum (PyTorch semantics: v = mu v + g; p -= lr v) and
// optional weight decay. Parameter updates and state live outside any TensorScope.
using Engine.Autograd;

namespace Engine.Models.Nn;

public sealed class Sgd(IReadOnlyList<Var> parameters, double lr, double momentum = 0, double weightDecay = 0) : IDisposable
{
    private readonly Dictionary<Var, Tensor> _velocity = new(ReferenceEqualityComparer.Instance);
    public double LearningRate { get; set; } = lr;

    public void Step()
    {
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        foreach (var p in parameters)
        {
            if (p.Grad == null) continue;
            var g = p.Grad;
            if (weightDecay != 0) g = Ops.Add(g, Ops.Mul(p.Data, weightDecay));
            if (momentum != 0)
            {
                if (!_velocity.TryGetValue(p, out var v))
                {
                    using (TensorScope.Suspend()) v = g.Clone();
                    _velocity[p] = v;
                }
                else
                {
                    using var mv = Ops.Mul(v, momentum);
                    using var nv = Ops.Add(mv, g);
                    v.CopyFrom(nv);
                }
                g = v;
            }
            using var step = Ops.Mul(g, LearningRate);
            using var np = Ops.Sub(p.Data, step);
            p.Data.CopyFrom(np);
        }
    }

    public void ZeroGrad()
    {
        foreach (var p in parameters) p.ZeroGrad();
    }

    public void Dispose()
    {
        foreach (var v in _velocity.Values) v.Dispose();
        _velocity.Clear();
    }
}
