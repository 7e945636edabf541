// Batch normalization over (N, H, W) per channel, with torch.nn.BatchNorm2d's semantics and state
// dict: parameters "weight" (gamma, ones) and "bias" (beta, zeros); buffers "running_mean"
// (zeros), "running_var" (ones) and "num_batches_tracked". Training mode normalizes with the
// batch mean and the biased batch variance and then updates the running statistics with the
// UNBIASED variance (running = (1 - momentum) * running + momentum * batch, PyTorch's
// convention); evaluation mode normalizes with the running statistics.
// num_batches_tracked: PyTorch's is an int64 scalar; ours is an I32 scalar (shape []) because the
// engine has no 64-bit integer dtype. A PyTorch checkpoint loads through
// SafeTensorsLoadOptions.ConvertIntegersToI32 (I64 -> I32, range-checked); Module.LoadStateDict
// also converts an F32/F64 value. It only counts steps (momentum = null, PyTorch's cumulative
// average, is not supported).
// Built from differentiable primitives (mean, sub, mul, rsqrt): the gradient through the batch
// statistics comes from the autograd graph, not a hand-written rule.
using Engine.Autograd;

namespace Engine.Models.Nn;

public sealed class BatchNorm2d : Layer
{
    public int Channels { get; }
    public double Eps { get; }
    public double Momentum { get; }
    public Var? Weight { get; }
    public Var? Bias { get; }
    public Tensor RunningMean { get; }
    public Tensor RunningVar { get; }
    /// <summary>I32 scalar: training-mode forward passes so far.</summary>
    public Tensor NumBatchesTracked { get; }

    /// <param name="weightInit">gamma's initial values: null is ones (PyTorch); KAIR's DnCNN draws U(0.1, 1).</param>
    public BatchNorm2d(ParamInit init, int channels, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                       (double Lo, double Hi)? weightInit = null)
    {
        if (channels <= 0) throw new InvalidArgumentException("BatchNorm2d", $"channels must be positive, got {channels}");
        if (!(eps > 0) || double.IsInfinity(eps)) throw new InvalidArgumentException("BatchNorm2d", $"eps must be positive and finite, got {eps}");
        if (!(momentum >= 0 && momentum <= 1)) throw new InvalidArgumentException("BatchNorm2d", $"momentum must be in [0, 1], got {momentum}");
        Channels = channels; Eps = eps; Momentum = momentum;
        if (affine)
        {
            Weight = Param("weight", weightInit is { } r ? init.UniformRange([channels], r.Lo, r.Hi) : init.Full([channels], 1.0));
            Bias = Param("bias", init.Zeros([channels]));
        }
        RunningMean = Buffer("running_mean", init.Zeros([channels]));
        RunningVar = Buffer("running_var", init.Full([channels], 1.0));
        using (TensorScope.Suspend())
            NumBatchesTracked = Buffer("num_batches_tracked", Tensor.Zeros([], DType.I32, init.Device));
    }

    public override Var Forward(Var x)
    {
        if (x.Rank != 4 || x.Shape[1] != Channels)
            throw new ShapeMismatchException("BatchNorm2d", $"expects (N, {Channels}, H, W), got {Fmt.Shape(x.Shape)}");
        if (x.DType != RunningMean.DType)
            throw new DTypeMismatchException("BatchNorm2d", $"input {Fmt.Of(x.Data)} vs running_mean {Fmt.Of(RunningMean)}");
        if (x.Device != RunningMean.Device)
            throw new DeviceMismatchException("BatchNorm2d", $"input {Fmt.Of(x.Data)} vs running_mean {Fmt.Of(RunningMean)}");
        int[] cshape = [1, Channels, 1, 1];
        if (!IsTraining)
        {
            // y = x * s + (beta - mean * s), s = gamma / sqrt(var + eps): one pass over x.
            var rstd = new Var(Ops.Rsqrt(Ops.Add(RunningVar, Eps)).Reshape(cshape));
            var mean = new Var(RunningMean.Reshape(cshape));
            var scale = Weight != null ? F.Reshape(Weight, cshape) * rstd : rstd;
            var shift = Bias != null ? F.Reshape(Bias, cshape) - mean * scale : F.Neg(mean * scale);
            return x * scale + shift;
        }

        long n = (long)x.Shape[0] * x.Shape[2] * x.Shape[3];
        if (n < 2)
            throw new ShapeMismatchException("BatchNorm2d", $"training mode needs more than one value per channel, got input {Fmt.Shape(x.Shape)}");
        var (y, bmean, bvar) = Normalize(x, Weight, Bias, Eps);
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
        {
            // (C): running = (1 - m) * running + m * batch; the variance unbiased by n / (n - 1).
            var m = bmean.Data.Reshape(Channels);
            var v = Ops.Mul(bvar.Data.Reshape(Channels), (double)n / (n - 1));
            RunningMean.CopyFrom(Ops.Add(Ops.Mul(RunningMean, 1 - Momentum), Ops.Mul(m, Momentum)));
            RunningVar.CopyFrom(Ops.Add(Ops.Mul(RunningVar, 1 - Momentum), Ops.Mul(v, Momentum)));
        }
        NumBatchesTracked.Fill(NumBatchesTracked.Item() + 1);
        return y;
    }

    /// <summary>Training-mode normalization alone (no running statistics touched): returns the
    /// output and the batch mean and biased variance, each (1, C, 1, 1).</summary>
    public static (Var Y, Var Mean, Var Var) Normalize(Var x, Var? weight, Var? bias, double eps)
    {
        if (x.Rank != 4) throw new RankException("BatchNorm2d", $"expects (N, C, H, W), got {Fmt.Shape(x.Shape)}");
        int[] axes = [0, 2, 3];
        int[] cshape = [1, x.Shape[1], 1, 1];
        var mean = F.Mean(x, axes, keepDim: true);        // (1, C, 1, 1)
        var xc = x - mean;                                  // (N, C, H, W)
        var bvar = F.Mean(F.Square(xc), axes, keepDim: true);
        var y = xc * F.Rsqrt(bvar + eps);
        if (weight != null) y = y * F.Reshape(weight, cshape);
        if (bias != null) y = y + F.Reshape(bias, cshape);
        return (y, mean, bvar);
    }
}
