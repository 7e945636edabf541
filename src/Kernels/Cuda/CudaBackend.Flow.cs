// CUDA flow family (kernels-cu/flow.cu): fused ActNorm and the affine coupling / injector epilogue,
// forward and backward, the CPU's FlowKernels semantics. The op layer has validated and densified
// the buffers; the checks here repeat what a kernel's memory safety depends on (dtypes, shapes,
// density) so a misuse of the backend seam is a typed error, never an out-of-bounds access.
// Reductions (gbias/glogs, logdet) run as one pass writing per-block partial sums in double, then a
// small kernel that adds them in order: deterministic for a given size and SM count.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>FTILE in flow.cu: consecutive elements of one plane per tile.</summary>
    private const int FlowTile = 1024;

    private static void FlowSame(string op, Buf a, Buf b, string what)
    {
        if (b.DType != a.DType) throw new DTypeMismatchException(op, $"{what} {Fmt.Shape(b.Shape)} {b.DType.Name()} vs input {Fmt.Shape(a.Shape)} {a.DType.Name()} (cuda)");
    }

    private void FlowDense(string op, Buf b, string what)
    {
        S(b, op);
        if (b.Numel > 0 && !b.Layout.IsContiguous) throw new UnsupportedOpException(op, $"cuda: {what} must be contiguous, got {b.Layout}");
    }

    private static void FlowShape(string op, Buf b, ReadOnlySpan<int> shape, string what)
    {
        if (!b.Shape.AsSpan().SequenceEqual(shape)) throw new ShapeMismatchException(op, $"{what} must be {Fmt.Shape(shape)}, got {Fmt.Shape(b.Shape)} (cuda)");
    }

    private static void FlowCount(string op, Buf b, long n, string what)
    {
        if (b.Numel != n) throw new ShapeMismatchException(op, $"{what} must have {n} elements, got {Fmt.Shape(b.Shape)} (cuda)");
    }

    private static (int n, int c, long hw) FlowNchw(string op, Buf x)
    {
        if (!x.DType.IsFloat()) throw new DTypeMismatchException(op, $"input must be f32 or f64, got {Fmt.Shape(x.Shape)} {x.DType.Name()} (cuda)");
        if (x.Shape.Length != 4) throw new RankException(op, $"input must be (N, C, H, W), got {Fmt.Shape(x.Shape)} (cuda)");
        return (x.Shape[0], x.Shape[1], (long)x.Shape[2] * x.Shape[3]);
    }

    private KernelArgs FlowEps(KernelArgs a, DType dt, double eps) => dt == DType.F32 ? a.F32((float)eps) : a.F64(eps);

    // ------------------------------------------------------------------ ActNorm

    private void ActNormChecks(string op, Buf x, Buf bias, Buf logs, int c)
    {
        FlowDense(op, x, "input");
        FlowSame(op, x, bias, "bias"); FlowSame(op, x, logs, "logs");
        FlowDense(op, bias, "bias"); FlowDense(op, logs, "logs");
        FlowCount(op, bias, c, "bias"); FlowCount(op, logs, c, "logs");
    }

    public void ActNorm(Buf x, Buf bias, Buf logs, Buf y, bool inverse)
    {
        const string op = "ActNorm";
        var (n, c, hw) = FlowNchw(op, x);
        ActNormChecks(op, x, bias, logs, c);
        FlowSame(op, x, y, "output"); FlowDense(op, y, "output"); FlowShape(op, y, x.Shape, "output");
        long planes = (long)n * c;
        if (planes == 0 || hw == 0) return;
        uint gy = (uint)Math.Min(planes, 65535);
        long cap = Math.Max(1, (long)Runtime.MultiprocessorCount * 32 / gy);
        uint gx = (uint)Math.Clamp((hw + BlockSize - 1) / BlockSize, 1, cap);
        Launch($"actnorm_{Sfx(x.DType)}", new Dim3(gx, gy), new Dim3(BlockSize), 0,
            KernelArgs.Begin().Ptr(Ptr(x, op)).Ptr(Ptr(bias, op)).Ptr(Ptr(logs, op)).Ptr(Ptr(y, op)).I64(planes).I32(c).I64(hw).I32(inverse ? 1 : 0));
    }

    public void ActNormBackward(Buf x, Buf gy, Buf bias, Buf logs, Buf? gx, Buf gbias, Buf glogs, bool inverse)
    {
        const string op = "ActNormBackward";
        var (n, c, hw) = FlowNchw(op, x);
        ActNormChecks(op, x, bias, logs, c);
        FlowSame(op, x, gy, "gradient"); FlowDense(op, gy, "gradient"); FlowShape(op, gy, x.Shape, "gradient");
        if (gx is { } g) { FlowSame(op, x, g, "input gradient"); FlowDense(op, g, "input gradient"); FlowShape(op, g, x.Shape, "input gradient"); }
        FlowSame(op, x, gbias, "bias gradient"); FlowDense(op, gbias, "bias gradient"); FlowCount(op, gbias, c, "bias gradient");
        FlowSame(op, x, glogs, "logs gradient"); FlowDense(op, glogs, "logs gradient"); FlowCount(op, glogs, c, "logs gradient");
        if (c == 0) return;
        long tiles = (long)n * ((hw + FlowTile - 1) / FlowTile);
        if (tiles == 0) { Fill(gbias, 0); Fill(glogs, 0); return; }
        uint gridX = (uint)Math.Min(c, 65535);
        long fill = (long)Runtime.MultiprocessorCount * 8;
        int splits = (int)Math.Clamp((fill + gridX - 1) / gridX, 1, Math.Min(tiles, 65535));
        string sfx = Sfx(x.DType);
        using var part = Scratch(DType.F64, (long)c * splits * 2);
        Launch($"actnorm_bwd_{sfx}", new Dim3(gridX, (uint)splits), new Dim3(BlockSize), 0,
            KernelArgs.Begin().Ptr(Ptr(x, op)).Ptr(Ptr(gy, op)).Ptr(Ptr(bias, op)).Ptr(Ptr(logs, op)).Ptr(gx is { } gxb ? Ptr(gxb, op) : 0)
                .Ptr(part.Ptr).I32(n).I32(c).I64(hw).I32(inverse ? 1 : 0));
        Launch1D($"actnorm_bwd_finish_{sfx}", c, KernelArgs.Begin().Ptr(part.Ptr).Ptr(Ptr(gbias, op)).Ptr(Ptr(glogs, op)).I32(c).I32(splits));
    }

    // ------------------------------------------------------------------ affine epilogue

    private void EpilogueChecks(string op, Buf x, Buf h, int n, int c)
    {
        S(x, op);
        // x: dense samples at any sample stride (the kernels address x + i * xs + ch * hw + k).
        var L = x.Layout;
        if (x.Numel > 0 && !new Layout(L.Shape[1..], L.Strides[1..], 0).IsContiguous)
            throw new UnsupportedOpException(op, $"cuda: each sample of the input must be dense, got {L}");
        FlowSame(op, x, h, "network output h"); FlowDense(op, h, "network output h");
        FlowShape(op, h, [n, 2 * c, x.Shape[2], x.Shape[3]], "network output h");
    }

    public void AffineEpilogue(Buf x, Buf h, Buf y, Buf logdet, double eps, bool inverse)
    {
        const string op = "AffineEpilogue";
        var (n, c, hw) = FlowNchw(op, x);
        EpilogueChecks(op, x, h, n, c);
        FlowSame(op, x, y, "output"); FlowDense(op, y, "output"); FlowShape(op, y, x.Shape, "output");
        FlowSame(op, x, logdet, "logdet"); FlowDense(op, logdet, "logdet"); FlowCount(op, logdet, n, "logdet");
        if (n == 0) return;
        long tiles = (long)c * ((hw + FlowTile - 1) / FlowTile);
        if (tiles == 0) { Fill(logdet, 0); return; }
        uint gridY = (uint)Math.Min(n, 65535);
        long fill = (long)Runtime.MultiprocessorCount * 8;
        int splits = (int)Math.Clamp((fill + gridY - 1) / gridY, 1, Math.Min(tiles, 65535));
        string sfx = Sfx(x.DType);
        using var part = Scratch(DType.F64, (long)n * splits);
        Launch($"affine_{sfx}", new Dim3((uint)splits, gridY), new Dim3(BlockSize), 0,
            FlowEps(KernelArgs.Begin().Ptr(Ptr(x, op)).I64(x.Layout.Strides[0]).Ptr(Ptr(h, op)).Ptr(Ptr(y, op)).Ptr(part.Ptr).I32(n).I32(c).I64(hw), x.DType, eps)
                .I32(inverse ? 1 : 0));
        Launch1D($"affine_finish_{sfx}", n, KernelArgs.Begin().Ptr(part.Ptr).Ptr(Ptr(logdet, op)).I32(n).I32(splits).I32(inverse ? 1 : 0));
    }

    public void AffineEpilogueBackward(Buf x, Buf h, Buf? gy, Buf? glogdet, Buf? gx, Buf gh, double eps, bool inverse)
    {
        const string op = "AffineEpilogueBackward";
        var (n, c, hw) = FlowNchw(op, x);
        EpilogueChecks(op, x, h, n, c);
        if (gy == null && glogdet == null) throw new InvalidArgumentException(op, "neither an output gradient nor a logdet gradient was given (cuda)");
        if (gy is { } g) { FlowSame(op, x, g, "output gradient"); FlowDense(op, g, "output gradient"); FlowShape(op, g, x.Shape, "output gradient"); }
        if (glogdet is { } l) { FlowSame(op, x, l, "logdet gradient"); FlowDense(op, l, "logdet gradient"); FlowCount(op, l, n, "logdet gradient"); }
        if (gx is { } gi) { FlowSame(op, x, gi, "input gradient"); FlowDense(op, gi, "input gradient"); FlowShape(op, gi, x.Shape, "input gradient"); }
        FlowSame(op, x, gh, "h gradient"); FlowDense(op, gh, "h gradient"); FlowShape(op, gh, h.Shape, "h gradient");
        long tiles = (long)c * ((hw + FlowTile - 1) / FlowTile);
        if (n == 0 || tiles == 0) return;
        uint gridY = (uint)Math.Min(n, 65535);
        long cap = Math.Max(1, (long)Runtime.MultiprocessorCount * 32 / gridY);
        uint gridX = (uint)Math.Clamp(tiles, 1, cap);
        var args = KernelArgs.Begin().Ptr(Ptr(x, op)).I64(x.Layout.Strides[0]).Ptr(Ptr(h, op))
            .Ptr(gy is { } gyb ? Ptr(gyb, op) : 0).Ptr(glogdet is { } lb ? Ptr(lb, op) : 0).Ptr(gx is { } gxb ? Ptr(gxb, op) : 0)
            .Ptr(Ptr(gh, op)).I32(n).I32(c).I64(hw);
        Launch($"affine_bwd_{Sfx(x.DType)}", new Dim3(gridX, gridY), new Dim3(BlockSize), 0, FlowEps(args, x.DType, eps).I32(inverse ? 1 : 0));
    }
}
