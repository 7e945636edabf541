// ActNorm (Glow; SRFlow/DeFlow FlowActNorms.ActNorm2d, spec 3.3): per-channel affine
// y = (x + bias) * exp(logs), logdet = H*W*sum(logs); inverse x = y * exp(-logs) - bias.
// bias and logs are (1, C, 1, 1), zero-initialized (the identity). Initialize(x) is the
// data-dependent init: bias = -mean over (N, H, W), logs = log(scale / (std + 1e-6)) with
// std = sqrt(mean((x + bias)^2)), so that batch comes out with zero mean and unit variance per
// channel; the "initialized" buffer (a 1-element tensor, 0 or 1) is saved with the weights, and
// Initialize does nothing once it is set (unless forced), as DeFlow skips loaded checkpoints.
// The map is the fused Ops.ActNorm kernel (one pass forward, one pass backward).
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class ActNorm : IFlowLayer, IDataInitialized
{
    public const double StdEps = 1e-6;

    public int Channels { get; }
    public DType DType { get; }
    public Device Device { get; }
    /// <summary>actnorm_scale: the target standard deviation of the init (1 in every SRFlow/DeFlow config).</summary>
    public double Scale { get; }
    public Var Bias { get; }
    public Var Logs { get; }
    private readonly Tensor _initialized;

    public ActNorm(int channels, DType dtype = DType.F32, Device? device = null, double scale = 1.0)
    {
        if (channels < 1) throw new InvalidArgumentException("ActNorm", $"channels must be positive, got {channels}");
        if (!(scale > 0) || !double.IsFinite(scale)) throw new InvalidArgumentException("ActNorm", $"scale must be finite and positive, got {scale}");
        Channels = channels; DType = dtype; Device = device ?? Device.Cpu; Scale = scale;
        Bias = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Zeros([1, channels, 1, 1], dtype, Device)), "bias");
        Logs = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Zeros([1, channels, 1, 1], dtype, Device)), "logs");
        _initialized = FlowLayers.Persistent(() => Tensor.Zeros([1], dtype, Device));
    }

    public bool Initialized => _initialized.Item() != 0;

    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        FlowLayers.CheckInput("ActNorm.Initialize", x, Channels, DType, Device);
        FlowLayers.CheckCond("ActNorm.Initialize", x, cond, 0);
        if (!force && Initialized) return false;
        using var scope = TensorScope.Begin();
        var xd = x.Data;
        var bias = Ops.Neg(Ops.Mean(xd, [0, 2, 3], keepDim: true));        // (1, C, 1, 1)
        var centered = Ops.Add(xd, bias);
        var std = Ops.Sqrt(Ops.Mean(Ops.Square(centered), [0, 2, 3], keepDim: true));
        var logs = Ops.Log(Ops.BinaryScalar(BinaryOp.Div, Ops.Add(std, StdEps), Scale, scalarFirst: true));
        Bias.Data.CopyFrom(bias);
        Logs.Data.CopyFrom(logs);
        _initialized.Fill(1);
        return true;
    }

    /// <summary>Marks the layer initialized without data (e.g. parameters set by hand).</summary>
    public void MarkInitialized(bool value = true) => _initialized.Fill(value ? 1 : 0);

    public (Var y, Var logdet) Forward(Var x, Var? cond = null)
    {
        Check(x, cond);
        return F.ActNorm(x, Bias, Logs);
    }

    public (Var x, Var logdet) Inverse(Var y, Var? cond = null)
    {
        Check(y, cond);
        return F.ActNormInverse(y, Bias, Logs);
    }

    /// <summary>The map without its logdet (ActNorm inside a conditioning network).</summary>
    public Var Apply(Var x)
    {
        Check(x, null);
        return F.ActNormApply(x, Bias, Logs);
    }

    private void Check(Var x, Var? cond)
    {
        FlowLayers.CheckInput("ActNorm", x, Channels, DType, Device);
        FlowLayers.CheckCond("ActNorm", x, cond, 0);
    }

    public IEnumerable<(string name, Var p)> Parameters() => [("bias", Bias), ("logs", Logs)];
    public IEnumerable<(string name, Tensor t)> Buffers() => [("initialized", _initialized)];
}
