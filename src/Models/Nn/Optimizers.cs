// Optimizers with PyTorch's update rules (torch.optim.Adam / AdamW, bias-corrected), their state
// as named tensors for exact resume, and gradient clipping by global norm. State tensors live
// outside any TensorScope. On the CPU with contiguous f32/f64 parameters the update is one fused
// loop per tensor (read p, g, m, v once, write p, m, v once); elsewhere it is composed from Ops,
// which gives the same values (the parity test checks both paths).
using Engine.Autograd;

namespace Engine.Models.Nn;

public abstract class Optimizer : IDisposable
{
    protected IReadOnlyList<(string Name, Var Param)> Params { get; }

    /// <summary>The current learning rate (a schedule sets it before each step).</summary>
    public double LearningRate { get; set; }

    /// <summary>Completed update steps.</summary>
    public long StepCount { get; protected set; }

    protected Optimizer(IEnumerable<(string Name, Var Param)> parameters, double lr)
    {
        Params = parameters.ToList();
        if (Params.Count == 0) throw new InvalidArgumentException(GetType().Name, "no parameters to optimize");
        if (!(lr >= 0)) throw new InvalidArgumentException(GetType().Name, $"learning rate must be >= 0, got {lr}");
        var dup = Params.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new InvalidArgumentException(GetType().Name, $"parameter name '{dup.Key}' appears twice");
        LearningRate = lr;
    }

    public abstract void Step();

    public void ZeroGrad()
    {
        foreach (var (_, p) in Params) p.ZeroGrad();
    }

    /// <summary>Everything needed to resume exactly: per-parameter state by "kind.param_name", plus "step".</summary>
    public abstract Dictionary<string, Tensor> StateDict();

    /// <summary>Restores a state saved by StateDict; every expected tensor must be present with its shape.</summary>
    public abstract void LoadStateDict(IReadOnlyDictionary<string, Tensor> state);

    public abstract void Dispose();

    protected static Tensor StepTensor(long step)
    {
        using (TensorScope.Suspend()) return Tensor.FromArray([(double)step], [1]);
    }

    protected long ReadStep(IReadOnlyDictionary<string, Tensor> state)
    {
        if (!state.TryGetValue("step", out var s) || s.Numel != 1)
            throw new StateDictException(GetType().Name, "optimizer state has no scalar 'step'");
        return (long)s.Item();
    }

    protected static void CopyState(string owner, IReadOnlyDictionary<string, Tensor> state, string key, Tensor dst)
    {
        if (!state.TryGetValue(key, out var src))
            throw new StateDictException(owner, $"optimizer state is missing '{key}'");
        if (!src.Shape.SequenceEqual(dst.Shape))
            throw new StateDictException(owner, $"optimizer state '{key}' has shape {Fmt.Shape(src.Shape)}, the parameter has {Fmt.Shape(dst.Shape)}");
        using var scope = TensorScope.Begin();
        var s = src.DType != dst.DType ? src.To(dst.DType) : src;
        if (s.Device != dst.Device) s = s.To(dst.Device);
        dst.CopyFrom(s);
    }
}

/// <summary>Adam (decoupled = false: L2 weight decay added to the gradient, torch.optim.Adam) or
/// AdamW (decoupled = true: p *= 1 - lr * wd before the update, torch.optim.AdamW).</summary>
public sealed class Adam : Optimizer
{
    public double Beta1 { get; }
    public double Beta2 { get; }
    public double Eps { get; }
    public double WeightDecay { get; }
    public bool Decoupled { get; }
    /// <summary>Test hook: force the composed (Ops) path even where the fused CPU loop applies.</summary>
    internal bool ForceComposed { get; set; }

    private readonly Tensor?[] _m, _v;

    public Adam(IEnumerable<(string Name, Var Param)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
                double eps = 1e-8, double weightDecay = 0, bool decoupled = false) : base(parameters, lr)
    {
        if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
            throw new InvalidArgumentException(Name, $"betas must be in [0, 1), got ({beta1}, {beta2})");
        if (!(eps > 0)) throw new InvalidArgumentException(Name, $"eps must be > 0, got {eps}");
        if (!(weightDecay >= 0)) throw new InvalidArgumentException(Name, $"weight decay must be >= 0, got {weightDecay}");
        Beta1 = beta1; Beta2 = beta2; Eps = eps; WeightDecay = weightDecay; Decoupled = decoupled;
        _m = new Tensor?[Params.Count];
        _v = new Tensor?[Params.Count];
    }

    /// <summary>AdamW with PyTorch's default weight decay 0.01.</summary>
    public static Adam AdamW(IEnumerable<(string Name, Var Param)> parameters, double lr = 1e-3, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double weightDecay = 0.01)
        => new(parameters, lr, beta1, beta2, eps, weightDecay, decoupled: true);

    private string Name => Decoupled ? "AdamW" : "Adam";

    private void EnsureState(int i)
    {
        if (_m[i] != null) return;
        var p = Params[i].Param.Data;
        using (TensorScope.Suspend())
        {
            _m[i] = Tensor.Zeros(p.Shape, p.DType, p.Device);
            _v[i] = Tensor.Zeros(p.Shape, p.DType, p.Device);
        }
    }

    public override void Step()
    {
        long t = StepCount + 1;
        double bc1 = 1 - Math.Pow(Beta1, t), bc2 = 1 - Math.Pow(Beta2, t);
        double stepSize = LearningRate / bc1, sqrtBc2 = Math.Sqrt(bc2);
        using var ng = GradMode.NoGrad();
        for (int i = 0; i < Params.Count; i++)
        {
            var p = Params[i].Param;
            if (p.Grad == null) continue;
            EnsureState(i);
            var (pd, g, m, v) = (p.Data, p.Grad, _m[i]!, _v[i]!);
            if (!ForceComposed && pd.Device.Type == DeviceType.Cpu && pd.IsContiguous && g.IsContiguous && g.DType == pd.DType)
            {
                if (pd.DType == DType.F32) FusedCpu<float>(pd, g, m, v, stepSize, sqrtBc2);
                else if (pd.DType == DType.F64) FusedCpu<double>(pd, g, m, v, stepSize, sqrtBc2);
                else Composed(pd, g, m, v, stepSize, sqrtBc2);
            }
            else Composed(pd, g, m, v, stepSize, sqrtBc2);
        }
        StepCount = t;
    }

    private unsafe void FusedCpu<T>(Tensor pd, Tensor g, Tensor m, Tensor v, double stepSize, double sqrtBc2) where T : unmanaged
    {
        var ps = ((CpuStorage)pd.Storage).Span<T>(pd.Layout.Offset, pd.Numel);
        var gs = ((CpuStorage)g.Storage).Span<T>(g.Layout.Offset, g.Numel);
        var ms = ((CpuStorage)m.Storage).Span<T>(0, m.Numel);
        var vs = ((CpuStorage)v.Storage).Span<T>(0, v.Numel);
        double b1 = Beta1, b2 = Beta2, eps = Eps, wd = WeightDecay, decay = Decoupled ? 1 - LearningRate * wd : 1;
        bool l2 = !Decoupled && wd != 0;
        if (typeof(T) == typeof(float))
        {
            var p32 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(ps);
            var g32 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(gs);
            var m32 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(ms);
            var v32 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(vs);
            float fb1 = (float)b1, fb2 = (float)b2, fwd = (float)wd, fdecay = (float)decay, fstep = (float)stepSize, fs2 = (float)sqrtBc2, feps = (float)eps;
            for (int k = 0; k < p32.Length; k++)
            {
                float gk = g32[k], pk = p32[k];
                if (l2) gk += fwd * pk;
                pk *= fdecay;
                float mk = fb1 * m32[k] + (1 - fb1) * gk;
                float vk = fb2 * v32[k] + (1 - fb2) * gk * gk;
                m32[k] = mk; v32[k] = vk;
                p32[k] = pk - fstep * mk / (MathF.Sqrt(vk) / fs2 + feps);
            }
        }
        else
        {
            var p64 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(ps);
            var g64 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(gs);
            var m64 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(ms);
            var v64 = System.Runtime.InteropServices.MemoryMarshal.Cast<T, double>(vs);
            for (int k = 0; k < p64.Length; k++)
            {
                double gk = g64[k], pk = p64[k];
                if (l2) gk += wd * pk;
                pk *= decay;
                double mk = b1 * m64[k] + (1 - b1) * gk;
                double vk = b2 * v64[k] + (1 - b2) * gk * gk;
                m64[k] = mk; v64[k] = vk;
                p64[k] = pk - stepSize * mk / (Math.Sqrt(vk) / sqrtBc2 + eps);
            }
        }
    }

    private void Composed(Tensor pd, Tensor g, Tensor m, Tensor v, double stepSize, double sqrtBc2)
    {
        using var scope = TensorScope.Begin();
        var grad = g;
        if (!Decoupled && WeightDecay != 0) grad = Ops.Add(grad, Ops.Mul(pd, WeightDecay));
        var p = Decoupled && WeightDecay != 0 ? Ops.Mul(pd, 1 - LearningRate * WeightDecay) : pd;
        var nm = Ops.Add(Ops.Mul(m, Beta1), Ops.Mul(grad, 1 - Beta1));
        var nv = Ops.Add(Ops.Mul(v, Beta2), Ops.Mul(Ops.Square(grad), 1 - Beta2));
        var denom = Ops.Add(Ops.Div(Ops.Sqrt(nv), sqrtBc2), Eps);
        var np = Ops.Sub(p, Ops.Mul(Ops.Div(nm, denom), stepSize));
        m.CopyFrom(nm);
        v.CopyFrom(nv);
        pd.CopyFrom(np);
    }

    public override Dictionary<string, Tensor> StateDict()
    {
        var d = new Dictionary<string, Tensor>(StringComparer.Ordinal) { ["step"] = StepTensor(StepCount) };
        for (int i = 0; i < Params.Count; i++)
        {
            if (_m[i] == null) continue;
            d["exp_avg." + Params[i].Name] = _m[i]!;
            d["exp_avg_sq." + Params[i].Name] = _v[i]!;
        }
        return d;
    }

    public override void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        long step = ReadStep(state);
        for (int i = 0; i < Params.Count; i++)
        {
            string name = Params[i].Name;
            bool has = state.ContainsKey("exp_avg." + name);
            if (!has) continue; // a parameter that never had a gradient has no state yet
            EnsureState(i);
            CopyState(Name, state, "exp_avg." + name, _m[i]!);
            CopyState(Name, state, "exp_avg_sq." + name, _v[i]!);
        }
        StepCount = step;
    }

    public override void Dispose()
    {
        for (int i = 0; i < Params.Count; i++) { _m[i]?.Dispose(); _v[i]?.Dispose(); _m[i] = _v[i] = null; }
    }
}

public static class GradClip
{
    /// <summary>The global L2 norm of all gradients (in double), as torch.nn.utils.clip_grad_norm_ returns it.</summary>
    public static double GlobalNorm(IEnumerable<Var> parameters)
    {
        double ss = 0;
        using var scope = TensorScope.Begin();
        using var ng = GradMode.NoGrad();
        foreach (var p in parameters)
        {
            if (p.Grad == null) continue;
            ss += Ops.Sum(Ops.Square(p.Grad.DType == DType.F64 ? p.Grad : p.Grad.To(DType.F64))).Item();
        }
        return Math.Sqrt(ss);
    }

    /// <summary>Scales all gradients by maxNorm / (norm + 1e-6) when the global norm exceeds
    /// maxNorm (torch semantics) and returns the norm before clipping. A non-finite norm is
    /// returned without touching the gradients: the trainer skips such a step.</summary>
    public static double ClipByGlobalNorm(IEnumerable<Var> parameters, double maxNorm)
    {
        var ps = parameters.ToList();
        double norm = GlobalNorm(ps);
        if (!double.IsFinite(norm) || norm <= maxNorm) return norm;
        double scale = maxNorm / (norm + 1e-6);
        using var scope = TensorScope.Begin();
        foreach (var p in ps)
        {
            if (p.Grad == null) continue;
            p.Grad.CopyFrom(Ops.Mul(p.Grad, scale));
        }
        return norm;
    }
}
