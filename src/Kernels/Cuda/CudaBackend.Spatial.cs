// CUDA pooling, resampling, padding (kernels-cu/spatial.cu) and gather/scatter/index ops
// (kernels-cu/index.cu): the CPU backend's semantics and argument errors (PoolKernels, ResampleKernels,
// PadKernels, IndexKernels), with shape checks the CPU leaves to the op layer added so that a kernel
// never reads or writes out of bounds. Outputs must be contiguous (the interface's contract); a strided
// input is first copied to a contiguous scratch.
//
// Determinism (see the .cu files): avg-pool, nearest, bilinear and pad backwards are gather-form and
// bitwise equal to the CPU; MaxPool2dBackward uses atomicAdd (order-dependent only where one element is
// the maximum of three or more windows); ScatterAdd/IndexAdd walk the indexed axis in the CPU's order
// (bitwise equal) unless there are too few (outer, inner) columns to fill the GPU, when they use
// atomicAdd (order-dependent with duplicate indices).
//
// Index errors: indices are checked on the device into a flag that is read back (one stream sync per
// Gather/ScatterAdd/IndexSelect/IndexAdd/MaxPool2dBackward call); a bad index throws the CPU's
// ArgumentOutOfRangeException (first bad position, same message), which Ops turns into an
// InvalidArgumentException. ScatterAdd/IndexAdd validate before accumulating, so y is left untouched;
// Gather/IndexSelect/MaxPool2dBackward check while running (their outputs are then partly written,
// bad entries are skipped).
using Engine.Cpu.Kernels;

namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    /// <summary>(outer, inner) products of ScatterAdd/IndexAdd above which the deterministic column form
    /// is used whatever the indexed length; below it, only when the indexed length is short.</summary>
    private const long SpColumnFormMinColumns = 1 << 16;
    private const long SpColumnFormMaxLength = 16;

    // ------------------------------------------------------------------ checks and staging

    private static void SpFloat(string op, Buf b, string what)
    {
        if (!b.DType.IsFloat())
            throw new DTypeMismatchException(op, $"{what} must be f32 or f64, got {Fmt.Shape(b.Shape)} {b.DType.Name()} (cuda)");
    }

    private static void SpDType(string op, Buf b, DType d, string what)
    {
        if (b.DType != d)
            throw new DTypeMismatchException(op, $"{what} must be {d.Name()}, got {Fmt.Shape(b.Shape)} {b.DType.Name()} (cuda)");
    }

    private static void SpRank(string op, Buf b, int rank, string what)
    {
        if (b.Shape.Length != rank)
            throw new RankException(op, $"{what} must have rank {rank}, got {Fmt.Shape(b.Shape)} (cuda)");
    }

    private static void SpShape(string op, Buf b, ReadOnlySpan<int> shape, string what)
    {
        if (!b.Shape.AsSpan().SequenceEqual(shape))
            throw new ShapeMismatchException(op, $"{what} must be {Fmt.Shape(shape)}, got {Fmt.Shape(b.Shape)} (cuda)");
    }

    private void SpOutput(string op, Buf b, string what)
    {
        S(b, op);
        if (b.Numel > 0 && !b.Layout.IsContiguous)
            throw new UnsupportedOpException(op, $"cuda: {what} must be contiguous, got {b.Layout}");
    }

    /// <summary>b when contiguous (or empty); otherwise a contiguous copy in a scratch that the caller disposes.</summary>
    private Buf SpDense(string op, Buf b, out CudaStorage? tmp)
    {
        S(b, op);
        tmp = null;
        if (b.Numel == 0 || b.Layout.IsContiguous) return b;
        tmp = Scratch(b.DType, b.Numel);
        var d = new Buf(tmp, Layout.Contiguous(b.Shape));
        Copy(b, d);
        return d;
    }

    /// <summary>A zeroed one-int device flag for the index checks.</summary>
    private CudaStorage SpNewFlag()
    {
        var f = Scratch(DType.I32, 1);
        Runtime.MemsetD32(f.Ptr, 0, 1);
        return f;
    }

    /// <summary>Reads the flag back (waits for the queued kernels).</summary>
    private bool SpFlagRaised(CudaStorage flag)
    {
        int v = 0;
        Runtime.CopyDtoH(&v, flag.Ptr, sizeof(int));
        return v != 0;
    }

    /// <summary>Throws the CPU's error for the first index outside [0, bound) (IndexKernels.CheckIndices).</summary>
    private void SpThrowBadIndex(string op, Buf index, long count, int bound)
    {
        var host = new int[checked((int)index.Numel)];
        Download(index, host.AsSpan());
        for (long k = 0; k < count; k++)
        {
            int v = host[k];
            if ((uint)v >= (uint)bound)
                throw new ArgumentOutOfRangeException("idx", v, $"{op}: index {v} at position {k} is out of range for dimension of size {bound}");
        }
        throw new InvalidOperationException($"{op}: the device reported an index out of range but none was found (cuda)");
    }

    /// <summary>Runs index_check_i32 over the first count indices and throws the CPU's error if one is bad.</summary>
    private void SpCheckIndices(string op, Buf index, long count, int bound)
    {
        if (count <= 0) return;
        using var flag = SpNewFlag();
        Launch1D("index_check_i32", count, KernelArgs.Begin().Ptr(Ptr(index, op)).I64(count).I32(bound).Ptr(flag.Ptr));
        if (SpFlagRaised(flag)) SpThrowBadIndex(op, index, count, bound);
    }

    private static (int n, int c, int h, int w) SpNchw(Buf b) => (b.Shape[0], b.Shape[1], b.Shape[2], b.Shape[3]);

    /// <summary>PoolKernels.CheckGeometry, same errors.</summary>
    private static void SpPoolGeometry(int n, int c, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0) throw new ArgumentException($"pooling: negative input size ({n}, {c}, {h}, {w})");
        if (kH < 1 || kW < 1 || sH < 1 || sW < 1 || dH < 1 || dW < 1 || pH < 0 || pW < 0)
            throw new ArgumentException($"pooling: bad parameters kernel {kH}x{kW}, stride {sH}x{sW}, pad {pH}x{pW}, dilation {dH}x{dW}");
    }

    // ------------------------------------------------------------------ pooling

    public void MaxPool2d(Buf x, Buf y, Buf argmax, Pool2dParams p)
    {
        const string op = "MaxPool2d";
        S(x, op); S(y, op); S(argmax, op);
        SpFloat(op, x, "input"); SpDType(op, y, x.DType, "output"); SpDType(op, argmax, DType.I32, "argmax");
        SpRank(op, x, 4, "input (N, C, H, W)");
        var (n, c, h, w) = SpNchw(x);
        SpPoolGeometry(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, p.DilationH, p.DilationW);
        int oh = PoolKernels.OutputSize(h, p.KH, p.StrideH, p.PadH, p.DilationH), ow = PoolKernels.OutputSize(w, p.KW, p.StrideW, p.PadW, p.DilationW);
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException($"MaxPool2d: input {h}x{w} too small for kernel {p.KH}x{p.KW} (pad {p.PadH},{p.PadW}, dilation {p.DilationH},{p.DilationW})");
        SpShape(op, y, [n, c, oh, ow], "output"); SpShape(op, argmax, [n, c, oh, ow], "argmax");
        SpOutput(op, y, "output"); SpOutput(op, argmax, "argmax");
        var xd = SpDense(op, x, out var xt);
        using (xt)
        {
            long total = y.Numel;
            Launch1D("max_pool2d_" + Sfx(x.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(y, op)).Ptr(Ptr(argmax, op)).I64(total)
                .I32(h).I32(w).I32(oh).I32(ow).I32(p.KH).I32(p.KW).I32(p.StrideH).I32(p.StrideW)
                .I32(p.PadH).I32(p.PadW).I32(p.DilationH).I32(p.DilationW));
        }
    }

    public void MaxPool2dBackward(Buf gy, Buf argmax, Buf gx)
    {
        const string op = "MaxPool2dBackward";
        S(gy, op); S(argmax, op); S(gx, op);
        SpFloat(op, gy, "gradient"); SpDType(op, gx, gy.DType, "input gradient"); SpDType(op, argmax, DType.I32, "argmax");
        SpRank(op, gx, 4, "input gradient (N, C, H, W)"); SpRank(op, gy, 4, "gradient (N, C, OH, OW)");
        var (n, c, h, w) = SpNchw(gx);
        int oh = gy.Shape[2], ow = gy.Shape[3];
        SpShape(op, gy, [n, c, oh, ow], "gradient"); SpShape(op, argmax, [n, c, oh, ow], "argmax");
        SpOutput(op, gx, "input gradient");
        if (gx.Numel > 0) Runtime.MemsetD8(Ptr(gx, op), 0, gx.Numel * gx.DType.Size());
        long total = gy.Numel;
        if (total == 0) return;
        var gd = SpDense(op, gy, out var gt);
        var ad = SpDense(op, argmax, out var at);
        using (gt)
        using (at)
        {
            long inPlane = (long)h * w, outPlane = (long)oh * ow;
            using var flag = SpNewFlag();
            Launch1D("max_pool2d_bwd_" + Sfx(gy.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(gd, op)).Ptr(Ptr(ad, op)).Ptr(Ptr(gx, op)).I64(total).I64(outPlane).I64(inPlane).Ptr(flag.Ptr));
            if (!SpFlagRaised(flag)) return;
            var host = new int[checked((int)total)];
            Download(ad, host.AsSpan());
            for (long o = 0; o < total; o++)
            {
                int a = host[o];
                if (a < -1 || a >= inPlane)
                    throw new ArgumentOutOfRangeException(nameof(argmax), a, $"MaxPool2dBackward: argmax {a} at position {o} outside the {h}x{w} plane");
            }
            throw new InvalidOperationException($"{op}: the device reported an argmax out of range but none was found (cuda)");
        }
    }

    public void AvgPool2d(Buf x, Buf y, Pool2dParams p)
    {
        const string op = "AvgPool2d";
        S(x, op); S(y, op);
        SpFloat(op, x, "input"); SpDType(op, y, x.DType, "output");
        SpRank(op, x, 4, "input (N, C, H, W)");
        var (n, c, h, w) = SpNchw(x);
        SpPoolGeometry(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, 1, 1);
        int oh = PoolKernels.OutputSize(h, p.KH, p.StrideH, p.PadH), ow = PoolKernels.OutputSize(w, p.KW, p.StrideW, p.PadW);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"AvgPool2d: input {h}x{w} too small for kernel {p.KH}x{p.KW} (pad {p.PadH},{p.PadW})");
        SpShape(op, y, [n, c, oh, ow], "output");
        SpOutput(op, y, "output");
        var xd = SpDense(op, x, out var xt);
        using (xt)
        {
            long total = y.Numel;
            Launch1D("avg_pool2d_" + Sfx(x.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(y, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .I32(p.KH).I32(p.KW).I32(p.StrideH).I32(p.StrideW).I32(p.PadH).I32(p.PadW).I32(p.CountIncludePad ? 1 : 0));
        }
    }

    public void AvgPool2dBackward(Buf gy, Buf gx, Pool2dParams p)
    {
        const string op = "AvgPool2dBackward";
        S(gy, op); S(gx, op);
        SpFloat(op, gy, "gradient"); SpDType(op, gx, gy.DType, "input gradient");
        SpRank(op, gx, 4, "input gradient (N, C, H, W)");
        var (n, c, h, w) = SpNchw(gx);
        SpPoolGeometry(n, c, h, w, p.KH, p.KW, p.StrideH, p.StrideW, p.PadH, p.PadW, 1, 1);
        int oh = Math.Max(0, PoolKernels.OutputSize(h, p.KH, p.StrideH, p.PadH)), ow = Math.Max(0, PoolKernels.OutputSize(w, p.KW, p.StrideW, p.PadW));
        if (gy.Numel != (long)n * c * oh * ow)
            throw new ShapeMismatchException(op, $"gradient {Fmt.Shape(gy.Shape)} does not hold ({n}, {c}, {oh}, {ow}) for input {Fmt.Shape(gx.Shape)} and {p} (cuda)");
        SpOutput(op, gx, "input gradient");
        var gd = SpDense(op, gy, out var gt);
        using (gt)
        {
            long total = gx.Numel;
            Launch1D("avg_pool2d_bwd_" + Sfx(gy.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(gd, op)).Ptr(Ptr(gx, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .I32(p.KH).I32(p.KW).I32(p.StrideH).I32(p.StrideW).I32(p.PadH).I32(p.PadW).I32(p.CountIncludePad ? 1 : 0));
        }
    }

    // ------------------------------------------------------------------ resampling

    /// <summary>Shared checks of the four resampling methods; returns (n, c, h, w, oh, ow).</summary>
    private (int n, int c, int h, int w, int oh, int ow) SpCheckResample(string op, Buf small, Buf large, string smallWhat, string largeWhat)
    {
        SpFloat(op, small, smallWhat); SpDType(op, large, small.DType, largeWhat);
        SpRank(op, small, 4, smallWhat + " (N, C, H, W)"); SpRank(op, large, 4, largeWhat + " (N, C, OH, OW)");
        var (n, c, h, w) = SpNchw(small);
        int oh = large.Shape[2], ow = large.Shape[3];
        SpShape(op, large, [n, c, oh, ow], largeWhat);
        // ResampleKernels.CheckSizes
        if ((h == 0 || w == 0) && (long)oh * ow > 0 && (long)n * c > 0)
            throw new ArgumentException($"resample: empty input {h}x{w} cannot produce output {oh}x{ow}");
        return (n, c, h, w, oh, ow);
    }

    public void UpsampleNearest(Buf x, Buf y)
    {
        const string op = "UpsampleNearest";
        S(x, op); S(y, op);
        var (_, _, h, w, oh, ow) = SpCheckResample(op, x, y, "input", "output");
        SpOutput(op, y, "output");
        long total = y.Numel;
        if (total == 0) return;
        var xd = SpDense(op, x, out var xt);
        using (xt)
            Launch1D("upsample_nearest_" + Sfx(x.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(y, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .F32(SpNearestScale(h, oh)).F32(SpNearestScale(w, ow)));
    }

    public void UpsampleNearestBackward(Buf gy, Buf gx)
    {
        const string op = "UpsampleNearestBackward";
        S(gy, op); S(gx, op);
        var (_, _, h, w, oh, ow) = SpCheckResample(op, gx, gy, "input gradient", "gradient");
        SpOutput(op, gx, "input gradient");
        long total = gx.Numel;
        if (total == 0) return;
        var gd = SpDense(op, gy, out var gt);
        using (gt)
            Launch1D("upsample_nearest_bwd_" + Sfx(gy.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(gd, op)).Ptr(Ptr(gx, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .F32(SpNearestScale(h, oh)).F32(SpNearestScale(w, ow)));
    }

    /// <summary>ResampleKernels.NearestSourceIndex's single-precision scale.</summary>
    private static float SpNearestScale(int inSize, int outSize) => outSize > 0 ? (float)inSize / outSize : 0f;

    public void UpsampleBilinear(Buf x, Buf y, bool alignCorners)
    {
        const string op = "UpsampleBilinear";
        S(x, op); S(y, op);
        var (_, _, h, w, oh, ow) = SpCheckResample(op, x, y, "input", "output");
        SpOutput(op, y, "output");
        long total = y.Numel;
        if (total == 0) return;
        var xd = SpDense(op, x, out var xt);
        using (xt)
            Launch1D("upsample_bilinear_" + Sfx(x.DType), total, SpBilinearScales(KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(y, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow).I32(alignCorners ? 1 : 0),
                x.DType, h, w, oh, ow, alignCorners));
    }

    public void UpsampleBilinearBackward(Buf gy, Buf gx, bool alignCorners)
    {
        const string op = "UpsampleBilinearBackward";
        S(gy, op); S(gx, op);
        var (_, _, h, w, oh, ow) = SpCheckResample(op, gx, gy, "input gradient", "gradient");
        SpOutput(op, gx, "input gradient");
        long total = gx.Numel;
        if (total == 0) return;
        var gd = SpDense(op, gy, out var gt);
        using (gt)
            Launch1D("upsample_bilinear_bwd_" + Sfx(gy.DType), total, SpBilinearScales(KernelArgs.Begin()
                .Ptr(Ptr(gd, op)).Ptr(Ptr(gx, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow).I32(alignCorners ? 1 : 0),
                gy.DType, h, w, oh, ow, alignCorners));
    }

    /// <summary>Appends the H and W scales of ResampleKernels.LinearTable, evaluated in the buffer's dtype.</summary>
    private static KernelArgs SpBilinearScales(KernelArgs a, DType d, int h, int w, int oh, int ow, bool alignCorners)
    {
        if (d == DType.F32) return a.F32(SpLinearScaleF32(h, oh, alignCorners)).F32(SpLinearScaleF32(w, ow, alignCorners));
        return a.F64(SpLinearScaleF64(h, oh, alignCorners)).F64(SpLinearScaleF64(w, ow, alignCorners));
    }

    private static float SpLinearScaleF32(int inSize, int outSize, bool alignCorners) => alignCorners
        ? (outSize > 1 ? (float)(inSize - 1) / (float)(outSize - 1) : 0f)
        : (outSize > 0 ? (float)inSize / (float)outSize : 0f);

    private static double SpLinearScaleF64(int inSize, int outSize, bool alignCorners) => alignCorners
        ? (outSize > 1 ? (double)(inSize - 1) / (double)(outSize - 1) : 0.0)
        : (outSize > 0 ? (double)inSize / (double)outSize : 0.0);

    // ------------------------------------------------------------------ padding

    /// <summary>Rank >= 2 buffers seen as (planes, H, W), as CpuBackend.Planes.</summary>
    private static (long planes, int h, int w) SpPadPlanes(string op, Buf b, string what)
    {
        if (b.Shape.Length < 2) throw new RankException(op, $"{what} needs rank >= 2, got {Fmt.Shape(b.Shape)} (cuda)");
        int h = b.Shape[^2], w = b.Shape[^1];
        long planes = 1;
        for (int i = 0; i < b.Shape.Length - 2; i++) planes *= b.Shape[i];
        return (planes, h, w);
    }

    /// <summary>PadKernels.Check, same errors.</summary>
    private static void SpCheckPad(long planes, int h, int w, int left, int right, int top, int bottom, PadMode mode)
    {
        if (planes < 0 || h < 0 || w < 0) throw new ArgumentException($"Pad2d: negative size (planes {planes}, {h}x{w})");
        if (left < 0 || right < 0 || top < 0 || bottom < 0)
            throw new ArgumentException($"Pad2d: negative padding ({left}, {right}, {top}, {bottom}) is not supported");
        if (mode is not (PadMode.Zero or PadMode.Reflect or PadMode.Replicate))
            throw new ArgumentException($"Pad2d: unknown mode {mode}");
        if (mode == PadMode.Reflect && (left >= w || right >= w || top >= h || bottom >= h))
            throw new ArgumentException($"Pad2d: reflect padding ({left}, {right}, {top}, {bottom}) must be smaller than the input size {h}x{w}");
        if (mode == PadMode.Replicate && (h == 0 || w == 0) && (left | right | top | bottom) != 0)
            throw new ArgumentException($"Pad2d: cannot replicate-pad an empty {h}x{w} input");
    }

    /// <summary>The padded buffer's expected shape: small's with the last two axes grown.</summary>
    private static int[] SpPaddedShape(Buf small, int left, int right, int top, int bottom)
    {
        var s = (int[])small.Shape.Clone();
        s[^2] += top + bottom;
        s[^1] += left + right;
        return s;
    }

    public void Pad2d(Buf x, Buf y, int left, int right, int top, int bottom, PadMode mode, double value)
    {
        const string op = "Pad2d";
        S(x, op); S(y, op);
        SpFloat(op, x, "input"); SpDType(op, y, x.DType, "output");
        var (planes, h, w) = SpPadPlanes(op, x, "input");
        SpCheckPad(planes, h, w, left, right, top, bottom, mode);
        SpShape(op, y, SpPaddedShape(x, left, right, top, bottom), "output");
        SpOutput(op, y, "output");
        long total = y.Numel;
        if (total == 0) return;
        int oh = h + top + bottom, ow = w + left + right;
        var xd = SpDense(op, x, out var xt);
        using (xt)
        {
            var a = KernelArgs.Begin().Ptr(Ptr(xd, op)).Ptr(Ptr(y, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .I32(left).I32(top).I32((int)mode);
            a = x.DType == DType.F32 ? a.F32((float)value) : a.F64(value);
            Launch1D("pad2d_" + Sfx(x.DType), total, a);
        }
    }

    public void Pad2dBackward(Buf gy, Buf gx, int left, int right, int top, int bottom, PadMode mode)
    {
        const string op = "Pad2dBackward";
        S(gy, op); S(gx, op);
        SpFloat(op, gy, "gradient"); SpDType(op, gx, gy.DType, "input gradient");
        var (planes, h, w) = SpPadPlanes(op, gx, "input gradient");
        SpCheckPad(planes, h, w, left, right, top, bottom, mode);
        SpShape(op, gy, SpPaddedShape(gx, left, right, top, bottom), "gradient");
        SpOutput(op, gx, "input gradient");
        long total = gx.Numel;
        if (total == 0) return;
        int oh = h + top + bottom, ow = w + left + right;
        var gd = SpDense(op, gy, out var gt);
        using (gt)
            Launch1D("pad2d_bwd_" + Sfx(gy.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(gd, op)).Ptr(Ptr(gx, op)).I64(total).I32(h).I32(w).I32(oh).I32(ow)
                .I32(left).I32(top).I32((int)mode));
    }

    // ------------------------------------------------------------------ gather / scatter / index

    private static int SpCheckDim(string op, int dim, int rank)
    {
        if (dim < 0 || dim >= rank)
            throw new DimOutOfRangeException(op, $"dim {dim} for rank {rank} (cuda)");
        return dim;
    }

    /// <summary>(outer, inner) products of a shape around axis d (CpuBackend.AroundDim).</summary>
    private static (long outer, long inner) SpAroundDim(int[] shape, int d)
    {
        long outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, inner);
    }

    /// <summary>index (same rank as data) must match data on every axis but dim.</summary>
    private static void SpMatchOutsideDim(string op, Buf index, Buf data, int dim, string dataWhat)
    {
        if (index.Shape.Length != data.Shape.Length)
            throw new RankException(op, $"index {Fmt.Shape(index.Shape)} must have the rank of {dataWhat} {Fmt.Shape(data.Shape)} (cuda)");
        for (int i = 0; i < index.Shape.Length; i++)
            if (i != dim && index.Shape[i] != data.Shape[i])
                throw new ShapeMismatchException(op, $"index {Fmt.Shape(index.Shape)} must match {dataWhat} {Fmt.Shape(data.Shape)} outside dim {dim} (cuda)");
    }

    private static bool SpUseColumnForm(long columns, long length) => length <= SpColumnFormMaxLength || columns >= SpColumnFormMinColumns;

    public void Gather(Buf x, int dim, Buf index, Buf y)
    {
        const string op = "Gather";
        S(x, op); S(index, op); S(y, op);
        SpFloat(op, x, "input"); SpDType(op, y, x.DType, "output"); SpDType(op, index, DType.I32, "index");
        SpCheckDim(op, dim, x.Shape.Length);
        SpMatchOutsideDim(op, index, x, dim, "input");
        SpShape(op, y, index.Shape, "output");
        SpOutput(op, y, "output");
        long total = index.Numel;
        if (total == 0) return;
        var (_, inner) = SpAroundDim(index.Shape, dim);
        int dimX = x.Shape[dim], dimIdx = index.Shape[dim];
        var xd = SpDense(op, x, out var xt);
        var id = SpDense(op, index, out var it);
        using (xt)
        using (it)
        {
            using var flag = SpNewFlag();
            Launch1D("gather_" + Sfx(x.DType), total, KernelArgs.Begin()
                .Ptr(Ptr(xd, op)).Ptr(Ptr(id, op)).Ptr(Ptr(y, op)).I64(total).I64(dimIdx).I64(inner).I32(dimX).Ptr(flag.Ptr));
            if (SpFlagRaised(flag)) SpThrowBadIndex(op, id, total, dimX);
        }
    }

    public void ScatterAdd(Buf y, int dim, Buf index, Buf src)
    {
        const string op = "ScatterAdd";
        S(y, op); S(index, op); S(src, op);
        SpFloat(op, y, "output"); SpDType(op, src, y.DType, "src"); SpDType(op, index, DType.I32, "index");
        SpCheckDim(op, dim, y.Shape.Length);
        SpMatchOutsideDim(op, index, y, dim, "output");
        SpShape(op, src, index.Shape, "src");
        SpOutput(op, y, "output");
        long total = index.Numel;
        if (total == 0) return;
        var (outer, inner) = SpAroundDim(index.Shape, dim);
        int dimY = y.Shape[dim], dimIdx = index.Shape[dim];
        var id = SpDense(op, index, out var it);
        var sd = SpDense(op, src, out var st);
        using (it)
        using (st)
        {
            SpCheckIndices(op, id, total, dimY);
            long columns = outer * inner;
            if (SpUseColumnForm(columns, dimIdx))
                Launch1D("scatter_add_" + Sfx(y.DType), columns, KernelArgs.Begin()
                    .Ptr(Ptr(y, op)).Ptr(Ptr(id, op)).Ptr(Ptr(sd, op)).I64(outer).I64(dimIdx).I64(inner).I32(dimY));
            else
                Launch1D("scatter_add_atomic_" + Sfx(y.DType), total, KernelArgs.Begin()
                    .Ptr(Ptr(y, op)).Ptr(Ptr(id, op)).Ptr(Ptr(sd, op)).I64(total).I64(dimIdx).I64(inner).I32(dimY));
        }
    }

    public void IndexSelect(Buf x, int dim, Buf index, Buf y)
    {
        const string op = "IndexSelect";
        S(x, op); S(index, op); S(y, op);
        SpFloat(op, x, "input"); SpDType(op, y, x.DType, "output"); SpDType(op, index, DType.I32, "index");
        SpRank(op, index, 1, "index");
        SpCheckDim(op, dim, x.Shape.Length);
        int nIdx = index.Shape[0];
        var expect = (int[])x.Shape.Clone(); expect[dim] = nIdx;
        SpShape(op, y, expect, "output");
        SpOutput(op, y, "output");
        int dimX = x.Shape[dim];
        var id = SpDense(op, index, out var it);
        using (it)
        {
            long total = y.Numel;
            if (total == 0) { SpCheckIndices(op, id, nIdx, dimX); return; } // the CPU checks every index even then
            var (_, inner) = SpAroundDim(x.Shape, dim);
            var xd = SpDense(op, x, out var xt);
            using (xt)
            {
                using var flag = SpNewFlag();
                Launch1D("index_select_" + Sfx(x.DType), total, KernelArgs.Begin()
                    .Ptr(Ptr(xd, op)).Ptr(Ptr(id, op)).Ptr(Ptr(y, op)).I64(total).I64(nIdx).I64(inner).I32(dimX).Ptr(flag.Ptr));
                if (SpFlagRaised(flag)) SpThrowBadIndex(op, id, nIdx, dimX);
            }
        }
    }

    public void IndexAdd(Buf y, int dim, Buf index, Buf src)
    {
        const string op = "IndexAdd";
        S(y, op); S(index, op); S(src, op);
        SpFloat(op, y, "output"); SpDType(op, src, y.DType, "src"); SpDType(op, index, DType.I32, "index");
        SpRank(op, index, 1, "index");
        SpCheckDim(op, dim, y.Shape.Length);
        int nIdx = index.Shape[0];
        var expect = (int[])y.Shape.Clone(); expect[dim] = nIdx;
        SpShape(op, src, expect, "src");
        SpOutput(op, y, "output");
        int dimY = y.Shape[dim];
        var id = SpDense(op, index, out var it);
        using (it)
        {
            SpCheckIndices(op, id, nIdx, dimY);
            long total = src.Numel;
            if (total == 0) return;
            var (outer, inner) = SpAroundDim(y.Shape, dim);
            var sd = SpDense(op, src, out var st);
            using (st)
            {
                long columns = outer * inner;
                if (SpUseColumnForm(columns, nIdx))
                    Launch1D("index_add_" + Sfx(y.DType), columns, KernelArgs.Begin()
                        .Ptr(Ptr(y, op)).Ptr(Ptr(id, op)).Ptr(Ptr(sd, op)).I64(outer).I64(nIdx).I64(inner).I32(dimY));
                else
                    Launch1D("index_add_atomic_" + Sfx(y.DType), total, KernelArgs.Begin()
                        .Ptr(Ptr(y, op)).Ptr(Ptr(id, op)).Ptr(Ptr(sd, op)).I64(total).I64(nIdx).I64(inner).I32(dimY));
            }
        }
    }
}
