// Learning-rate schedules as pure functions of the step (so resuming at step k needs nothing but
// k) and the exponential moving average of weights used for evaluation and sampling.
namespace Engine.Models.Nn;

public interface ILrSchedule
{
    /// <summary>The learning rate for the update that makes step (0-based) the next completed one.</summary>
    double At(long step);
    string Describe();
}

public sealed record ConstantLr(double Lr) : ILrSchedule
{
    public double At(long step) => Lr;
    public string Describe() => $"constant {Lr}";
}

/// <summary>torch.optim.lr_scheduler.MultiStepLR: lr * gamma^(number of milestones <= step), with
/// an optional linear warm-up from 0 over the first WarmupSteps steps.</summary>
public sealed record MultiStepLr(double Lr, IReadOnlyList<long> Milestones, double Gamma = 0.5, long WarmupSteps = 0) : ILrSchedule
{
    public double At(long step)
    {
        int passed = Milestones.Count(m => step >= m);
        double lr = Lr * Math.Pow(Gamma, passed);
        return step < WarmupSteps ? lr * (step + 1) / WarmupSteps : lr;
    }

    public string Describe() => $"multistep {Lr}, x{Gamma} at [{string.Join(", ", Milestones)}]" + (WarmupSteps > 0 ? $", warm-up {WarmupSteps}" : "");
}

/// <summary>Cosine annealing from Lr to MinLr over TotalSteps (CosineAnnealingLR with T_max =
/// TotalSteps, eta_min = MinLr), after an optional linear warm-up; MinLr after the end.</summary>
public sealed record CosineLr(double Lr, long TotalSteps, double MinLr = 0, long WarmupSteps = 0) : ILrSchedule
{
    public double At(long step)
    {
        if (step < WarmupSteps) return Lr * (step + 1) / WarmupSteps;
        long span = Math.Max(1, TotalSteps - WarmupSteps);
        double t = Math.Min(1.0, (double)(step - WarmupSteps) / span);
        return MinLr + 0.5 * (Lr - MinLr) * (1 + Math.Cos(Math.PI * t));
    }

    public string Describe() => $"cosine {Lr} -> {MinLr} over {TotalSteps}" + (WarmupSteps > 0 ? $", warm-up {WarmupSteps}" : "");
}

/// <summary>Exponential moving average of a module's parameters (shadow = decay * shadow +
/// (1 - decay) * param after each step); buffers are copied as they are. CopyTo writes the
/// averages into a module of the same structure (e.g. an evaluation copy).</summary>
public sealed class WeightEma : IDisposable
{
    private readonly List<(string Name, Tensor Shadow, Tensor Live)> _entries = [];
    public double Decay { get; }
    public long Updates { get; private set; }

    public WeightEma(Module module, double decay = 0.999)
    {
        if (!(decay >= 0 && decay < 1)) throw new InvalidArgumentException("WeightEma", $"decay must be in [0, 1), got {decay}");
        Decay = decay;
        using (TensorScope.Suspend())
        {
            foreach (var (n, p) in module.NamedParameters()) _entries.Add((n, p.Data.Clone(), p.Data));
            foreach (var (n, b) in module.NamedBuffers()) _entries.Add((n, b.Clone(), b));
        }
    }

    public void Update()
    {
        using var scope = TensorScope.Begin();
        foreach (var (_, shadow, live) in _entries)
        {
            if (shadow.DType is DType.F32 or DType.F64)
                shadow.CopyFrom(Ops.Add(Ops.Mul(shadow, Decay), Ops.Mul(live, 1 - Decay)));
            else shadow.CopyFrom(live);
        }
        Updates++;
    }

    /// <summary>The averaged weights by name (aliases of the shadow tensors).</summary>
    public Dictionary<string, Tensor> StateDict() => _entries.ToDictionary(e => e.Name, e => e.Shadow, StringComparer.Ordinal);

    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        var missing = _entries.Where(e => !state.ContainsKey(e.Name)).Select(e => e.Name).ToList();
        if (missing.Count > 0) throw new StateDictException("WeightEma", $"missing {missing.Count}: {string.Join(", ", missing.Take(10))}");
        using var scope = TensorScope.Begin();
        foreach (var (n, shadow, _) in _entries)
        {
            var s = state[n];
            if (!s.Shape.SequenceEqual(shadow.Shape)) throw new StateDictException("WeightEma", $"'{n}': EMA {Fmt.Shape(shadow.Shape)}, checkpoint {Fmt.Shape(s.Shape)}");
            shadow.CopyFrom(s.DType == shadow.DType ? s : s.To(shadow.DType));
        }
    }

    public void CopyTo(Module target) => target.LoadStateDict(StateDict());

    public void Dispose()
    {
        foreach (var (_, s, _) in _entries) s.Dispose();
        _entries.Clear();
    }
}
