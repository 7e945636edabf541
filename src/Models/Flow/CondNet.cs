// Building blocks of the coupling / injector networks (spec 3.5; SRFlow/DeFlow flow.Conv2d,
// flow.Conv2dZeros and the F(...) network of FlowAffineCouplingsAblation):
//   ConvActNorm  - "Conv2d": convolution without bias, weights N(0, 0.05^2), "same" padding,
//                  followed by an ActNorm with data-dependent init (its logdet is discarded).
//   Conv2dZeros  - convolution with bias, "same" padding, weight and bias zero-initialized, output
//                  multiplied per channel by exp(3 * logs) with logs (Cout, 1, 1) zero-initialized.
//   CondNet      - F(in, out, hidden): ConvActNorm 3x3 -> ReLU -> ConvActNorm 1x1 -> ReLU ->
//                  Conv2dZeros 3x3. Zero-initialized output, so every coupling and injector starts
//                  as the same fixed map (shift 0, scale sigmoid(2) + eps).
// Parameter names follow the PyTorch nn.Sequential: "0.weight", "0.actnorm.bias", "2.weight", ...,
// "4.weight", "4.bias", "4.logs".
using Engine.Autograd;

namespace Engine.Models.Flow;

public sealed class ConvActNorm : IDataInitialized
{
    public const double WeightStd = 0.05;
    public int Kernel { get; }
    public Var Weight { get; }
    public ActNorm Norm { get; }

    public ConvActNorm(int inChannels, int outChannels, int kernel, ulong seed, DType dtype = DType.F32, Device? device = null)
    {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || kernel % 2 == 0)
            throw new InvalidArgumentException("ConvActNorm", $"needs positive channels and an odd kernel, got {inChannels} -> {outChannels}, kernel {kernel}");
        var dev = device ?? Device.Cpu;
        Kernel = kernel;
        Weight = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Normal([outChannels, inChannels, kernel, kernel], seed, 0, 0, WeightStd, dtype, dev)), "weight");
        Norm = new ActNorm(outChannels, dtype, dev);
    }

    private Var Conv(Var x) => F.Conv2d(x, Weight, null, padding: Kernel / 2);

    public Var Forward(Var x) => Norm.Apply(Conv(x));

    public bool Initialized => Norm.Initialized;

    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        if (!force && Norm.Initialized) return false;
        using var ng = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        return Norm.Initialize(Conv(x), null, force);
    }

    public IEnumerable<(string name, Var p)> Parameters() => [("weight", Weight), .. FlowLayers.Prefixed("actnorm", Norm.Parameters())];
    public IEnumerable<(string name, Tensor t)> Buffers() => FlowLayers.Prefixed("actnorm", Norm.Buffers());
}

public sealed class Conv2dZeros
{
    public const double LogScaleFactor = 3;
    public int Kernel { get; }
    public Var Weight { get; }
    public Var Bias { get; }
    /// <summary>(Cout, 1, 1); the output is scaled by exp(3 * logs).</summary>
    public Var Logs { get; }

    public Conv2dZeros(int inChannels, int outChannels, int kernel = 3, DType dtype = DType.F32, Device? device = null)
    {
        if (inChannels < 1 || outChannels < 1 || kernel < 1 || kernel % 2 == 0)
            throw new InvalidArgumentException("Conv2dZeros", $"needs positive channels and an odd kernel, got {inChannels} -> {outChannels}, kernel {kernel}");
        var dev = device ?? Device.Cpu;
        Kernel = kernel;
        Weight = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Zeros([outChannels, inChannels, kernel, kernel], dtype, dev)), "weight");
        Bias = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Zeros([outChannels], dtype, dev)), "bias");
        Logs = FlowLayers.Parameter(FlowLayers.Persistent(() => Tensor.Zeros([outChannels, 1, 1], dtype, dev)), "logs");
    }

    public Var Forward(Var x) => F.Mul(F.Conv2d(x, Weight, Bias, padding: Kernel / 2), F.Exp(F.Mul(Logs, LogScaleFactor)));

    public IEnumerable<(string name, Var p)> Parameters() => [("weight", Weight), ("bias", Bias), ("logs", Logs)];
}

public sealed class CondNet : IDataInitialized
{
    public int InChannels { get; }
    public int OutChannels { get; }
    public int Hidden { get; }
    public ConvActNorm Conv1 { get; }
    public ConvActNorm Conv2 { get; }
    public Conv2dZeros Out { get; }

    /// <summary>F(in, out, hidden) with n_hidden_layers = 1 and kernel_hidden = 1 (every DeFlow config).</summary>
    public CondNet(int inChannels, int outChannels, int hidden, ulong seed, DType dtype = DType.F32, Device? device = null)
    {
        if (hidden < 1) throw new InvalidArgumentException("CondNet", $"hidden channels must be positive, got {hidden}");
        InChannels = inChannels; OutChannels = outChannels; Hidden = hidden;
        Conv1 = new ConvActNorm(inChannels, hidden, 3, FlowLayers.SubSeed(seed, 0), dtype, device);
        Conv2 = new ConvActNorm(hidden, hidden, 1, FlowLayers.SubSeed(seed, 1), dtype, device);
        Out = new Conv2dZeros(hidden, outChannels, 3, dtype, device);
    }

    public Var Forward(Var x) => Out.Forward(F.Relu(Conv2.Forward(F.Relu(Conv1.Forward(x)))));

    public bool Initialized => Conv1.Initialized && Conv2.Initialized;

    /// <summary>Initializes the two ActNorms in order, each on the batch as it reaches it.</summary>
    public bool Initialize(Var x, Var? cond = null, bool force = false)
    {
        using var ng = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        bool a = Conv1.Initialize(x, null, force);
        var h = F.Relu(Conv1.Forward(x));
        bool b = Conv2.Initialize(h, null, force);
        return a | b;
    }

    public IEnumerable<(string name, Var p)> Parameters() =>
        FlowLayers.Prefixed("0", Conv1.Parameters()).Concat(FlowLayers.Prefixed("2", Conv2.Parameters())).Concat(FlowLayers.Prefixed("4", Out.Parameters()));

    public IEnumerable<(string name, Tensor t)> Buffers() =>
        FlowLayers.Prefixed("0", Conv1.Buffers()).Concat(FlowLayers.Prefixed("2", Conv2.Buffers()));
}
