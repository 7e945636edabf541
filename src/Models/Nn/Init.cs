// Parameter initialization. ParamInit hands out Philox draws at increasing offsets, so a network
// built with the same seed and the same construction order has bit-identical weights on every
// machine and device. Kinds follow torch.nn.init: fan_in/fan_out as PyTorch computes them
// (conv weight (out, in/groups, kh, kw): fan_in = in/groups*kh*kw; transposed conv weight
// (in, out/groups, kh, kw): fan_in = out/groups*kh*kw), gain sqrt(2 / (1 + a^2)) for Kaiming.
namespace Engine.Models.Nn;

public enum InitKind
{
    /// <summary>torch.nn's default for Conv/Linear: kaiming_uniform(a = sqrt 5), i.e. U(+-1/sqrt(fan_in)); bias U(+-1/sqrt(fan_in)).</summary>
    PyTorchDefault,
    /// <summary>kaiming_normal(a, mode fan_in) times Scale; bias zero.</summary>
    KaimingNormal,
    /// <summary>kaiming_uniform(a, mode fan_in) times Scale; bias zero.</summary>
    KaimingUniform,
    /// <summary>xavier_uniform (gain 1) times Scale; bias zero.</summary>
    XavierUniform,
    /// <summary>xavier_normal (gain 1) times Scale; bias zero.</summary>
    XavierNormal,
    /// <summary>All zeros (weights and bias), e.g. the last conv of a flow coupling network.</summary>
    Zeros,
    /// <summary>ESRGAN's initialize_weights: kaiming_normal(a = 0, fan_in) scaled by 0.1 (or Scale), bias zero.</summary>
    Esrgan,
    /// <summary>torch.nn.init.orthogonal_ with gain Scale: the weight viewed as (shape[0], rest) has
    /// orthonormal rows (or columns, when taller than wide) times the gain; bias zero. DnCNN's init.</summary>
    Orthogonal,
    /// <summary>Weights zero, bias PyTorch's default U(+-1/sqrt(fan_in)): a default layer whose weight
    /// was then zeroed (VDVAE-style heads and projections, e.g. SeNM-VAE's).</summary>
    ZeroWeight,
}

/// <summary>How a layer's weights start. Scale multiplies the weights (ESRGAN uses 0.1);
/// NegativeSlope is Kaiming's a (the slope of the leaky ReLU that follows).</summary>
public sealed record InitSpec(InitKind Kind = InitKind.PyTorchDefault, double Scale = 1.0, double NegativeSlope = 0.0)
{
    public static readonly InitSpec Default = new();
    public static readonly InitSpec Zeros = new(InitKind.Zeros);
    public static readonly InitSpec ZeroWeight = new(InitKind.ZeroWeight);
    public static InitSpec Esrgan(double scale = 0.1) => new(InitKind.Esrgan, scale);
    public static InitSpec Kaiming(double negativeSlope = 0, double scale = 1) => new(InitKind.KaimingNormal, scale, negativeSlope);
    public static InitSpec Orthogonal(double gain = 1) => new(InitKind.Orthogonal, gain);
}

/// <summary>The source of initial values: seed, running Philox offset, dtype and device.</summary>
public sealed class ParamInit(ulong seed, DType dtype = DType.F32, Device? device = null)
{
    private ulong _offset;
    public ulong Seed { get; } = seed;
    public DType DType { get; } = dtype;
    public Device Device { get; } = device ?? Device.Cpu;

    private ulong Take(long n, int elementSize = 0)
    {
        ulong o = _offset;
        _offset += Engine.Random.Philox.BlocksUsed(n, elementSize > 0 ? elementSize : DType.Size());
        return o;
    }

    private static long Numel(int[] shape) => shape.Aggregate(1L, (a, b) => a * b);

    public Tensor Zeros(int[] shape)
    {
        using (TensorScope.Suspend()) return Tensor.Zeros(shape, DType, Device);
    }

    public Tensor Full(int[] shape, double value)
    {
        using (TensorScope.Suspend()) return Tensor.Full(shape, value, DType, Device);
    }

    public Tensor Normal(int[] shape, double std)
    {
        using (TensorScope.Suspend()) return Tensor.Normal(shape, Seed, Take(Numel(shape)), 0, std, DType, Device);
    }

    public Tensor Uniform(int[] shape, double bound)
    {
        using (TensorScope.Suspend()) return Tensor.Uniform(shape, Seed, Take(Numel(shape)), -bound, bound, DType, Device);
    }

    /// <summary>U(lo, hi) (e.g. KAIR's batch-norm gamma, U(0.1, 1)).</summary>
    public Tensor UniformRange(int[] shape, double lo, double hi)
    {
        using (TensorScope.Suspend()) return Tensor.Uniform(shape, Seed, Take(Numel(shape)), lo, hi, DType, Device);
    }

    /// <summary>An orthogonal matrix as torch.nn.init.orthogonal_ builds one: Gaussian draws viewed
    /// as (shape[0], rest), transposed to tall if wide, orthonormalized (modified Gram-Schmidt in
    /// double on the CPU, which is QR with R's diagonal made positive, torch's sign fix), transposed
    /// back, times the gain. The draws are F64 whatever the dtype, so the values do not depend on it.</summary>
    public Tensor Orthogonal(int[] shape, double gain)
    {
        if (shape.Length < 2) throw new InvalidArgumentException("ParamInit.Orthogonal", $"needs at least 2 dimensions, got {Fmt.Shape(shape)}");
        long numel = Numel(shape);
        int rows = shape[0];
        int cols = (int)(numel / rows);
        double[] a;
        using (var g = Tensor.Normal([(int)numel], Seed, Take(numel, sizeof(double)), 0, 1, DType.F64)) a = g.ToArray<double>();
        bool wide = rows < cols;
        int m = wide ? cols : rows, k = wide ? rows : cols; // the tall matrix T (m, k), m >= k
        var t = new double[m * k];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[wide ? c * k + r : r * k + c] = a[r * cols + c];
        for (int j = 0; j < k; j++)
        {
            for (int p = 0; p < j; p++)
            {
                double dot = 0;
                for (int i = 0; i < m; i++) dot += t[i * k + p] * t[i * k + j];
                for (int i = 0; i < m; i++) t[i * k + j] -= dot * t[i * k + p];
            }
            double norm = 0;
            for (int i = 0; i < m; i++) norm += t[i * k + j] * t[i * k + j];
            norm = Math.Sqrt(norm);
            if (!(norm > 1e-300)) throw new InvalidArgumentException("ParamInit.Orthogonal", $"degenerate draw for {Fmt.Shape(shape)}");
            for (int i = 0; i < m; i++) t[i * k + j] /= norm;
        }
        var w = new double[numel];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                w[r * cols + c] = gain * t[wide ? c * k + r : r * k + c];
        using (TensorScope.Suspend())
        {
            var host = Tensor.FromArray(w, shape);
            if (DType == DType.F64 && Device == Device.Cpu) return host;
            using (host)
            {
                if (DType == DType.F64) return host.To(Device);
                var cast = host.To(DType);
                if (Device == Device.Cpu) return cast;
                using (cast) return cast.To(Device);
            }
        }
    }

    public static double KaimingGain(double a) => Math.Sqrt(2.0 / (1 + a * a));

    /// <summary>A weight of the given shape with the given fans, drawn as the spec says.</summary>
    public Tensor Weight(int[] shape, long fanIn, long fanOut, InitSpec spec)
    {
        if (fanIn <= 0 || fanOut <= 0)
            throw new InvalidArgumentException("ParamInit.Weight", $"fan_in {fanIn} and fan_out {fanOut} must be positive for shape {Fmt.Shape(shape)}");
        return spec.Kind switch
        {
            InitKind.PyTorchDefault => Uniform(shape, 1.0 / Math.Sqrt(fanIn)),
            InitKind.KaimingNormal => Normal(shape, spec.Scale * KaimingGain(spec.NegativeSlope) / Math.Sqrt(fanIn)),
            InitKind.KaimingUniform => Uniform(shape, spec.Scale * KaimingGain(spec.NegativeSlope) * Math.Sqrt(3.0 / fanIn)),
            InitKind.XavierUniform => Uniform(shape, spec.Scale * Math.Sqrt(6.0 / (fanIn + fanOut))),
            InitKind.XavierNormal => Normal(shape, spec.Scale * Math.Sqrt(2.0 / (fanIn + fanOut))),
            InitKind.Zeros or InitKind.ZeroWeight => Zeros(shape),
            InitKind.Esrgan => Normal(shape, spec.Scale * KaimingGain(0) / Math.Sqrt(fanIn)),
            InitKind.Orthogonal => Orthogonal(shape, spec.Scale),
            _ => throw new InvalidArgumentException("ParamInit.Weight", $"unknown init kind {spec.Kind}"),
        };
    }

    /// <summary>A bias: PyTorch's default is U(+-1/sqrt(fan_in)) (also kept by ZeroWeight); every other kind starts at zero.</summary>
    public Tensor Bias(int n, long fanIn, InitSpec spec)
        => spec.Kind is InitKind.PyTorchDefault or InitKind.ZeroWeight ? Uniform([n], 1.0 / Math.Sqrt(fanIn)) : Zeros([n]);
}
