// Resize: MATLAB imresize(A, scale or [rows cols], 'bicubic') with antialiasing, as BasicSR's
// matlab_functions.imresize and DeFlow's matlablike_resize port it, plus BasicSR's modcrop.
// - Keys cubic kernel with a = -0.5, support 4; on a downscale (scale < 1) with antialiasing the
//   kernel is stretched by 1/scale (4/scale wide) and scaled by scale; weights are normalized to sum
//   1 per output pixel (on every resize, up or down).
// - Output pixel x (1-based) samples source coordinate u = x/scale + 0.5 (1 - 1/scale) (1-based);
//   taps floor(u - width/2) + 0 .. ceil(width) + 1; out-of-range taps are mirrored with the edge
//   repeated (MATLAB's symmetric: index sequence 1..n, n..1, periodic), so any overhang works.
// - Separable: the dimension with the smaller scale goes first (MATLAB's order; H on ties). With an
//   explicit output size the scale of a dimension is out/in; from a scale the size is ceil(scale*n).
// - MATLAB drops weight columns that are zero for every output; here every exactly-zero weight is
//   dropped per output, which changes nothing (adding +-0 is exact) and saves taps.
// - Float mode (Image, tensors): float32 weights and sums, no clamping or rounding. Uint8 mode
//   (BicubicUint8): float64 sums, each 1-D pass clipped to [0, 255] and rounded, as the ports do for
//   uint8 arrays (np.around: ties to even; MATLAB's uint8() rounds ties away from zero: pass
//   MidpointRounding.AwayFromZero for that). Ties are real: a x2 upscale has weights k/128.
// Weights for an (in, out, scale, antialias) axis are computed once and cached.
using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;
using Engine.Cpu;

namespace Engine.Imaging;

/// <summary>The contributions of one resize axis: output i is the sum over k in
/// [Start[i], Start[i+1]) of Weight[k] * input[Index[k]] (indices 0-based, already mirrored into
/// [0, InLength)). Built by <see cref="Create"/> and immutable.</summary>
public sealed class CubicWeights
{
    public int InLength { get; }
    public int OutLength { get; }
    public double Scale { get; }
    public bool Antialias { get; }
    private readonly int[] _start, _index;
    private readonly double[] _weight;
    internal readonly float[] WeightF;

    public ReadOnlySpan<int> Start => _start;
    public ReadOnlySpan<int> Index => _index;
    public ReadOnlySpan<double> Weight => _weight;

    private CubicWeights(int inLength, int outLength, double scale, bool antialias, int[] start, int[] index, double[] weight)
    {
        InLength = inLength; OutLength = outLength; Scale = scale; Antialias = antialias;
        _start = start; _index = index; _weight = weight;
        WeightF = Array.ConvertAll(weight, w => (float)w);
    }

    /// <summary>The Keys cubic with a = -0.5 (support [-2, 2]).</summary>
    public static double Cubic(double x)
    {
        double ax = Math.Abs(x), ax2 = ax * ax, ax3 = ax2 * ax;
        if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
        if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
        return 0;
    }

    /// <summary>MATLAB's contributions(in, out, scale, cubic, 4, antialias).</summary>
    public static CubicWeights Create(int inLength, int outLength, double scale, bool antialias)
    {
        const string op = "CubicWeights.Create";
        if (inLength <= 0 || outLength <= 0)
            throw new InvalidArgumentException(op, $"lengths must be positive, got in {inLength}, out {outLength}");
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new InvalidArgumentException(op, $"scale must be finite and > 0, got {scale}");
        bool stretch = antialias && scale < 1;
        double width = stretch ? 4.0 / scale : 4.0;
        int taps = (int)Math.Ceiling(width) + 2;
        var start = new int[outLength + 1];
        var index = new List<int>(outLength * taps);
        var weight = new List<double>(outLength * taps);
        var w = new double[taps];
        for (int i = 0; i < outLength; i++)
        {
            double x = i + 1;
            double u = x / scale + 0.5 * (1 - 1 / scale);
            double left = Math.Floor(u - width / 2);
            double sum = 0;
            for (int p = 0; p < taps; p++)
            {
                double d = u - (left + p);
                w[p] = stretch ? scale * Cubic(d * scale) : Cubic(d);
                sum += w[p];
            }
            start[i] = index.Count;
            for (int p = 0; p < taps; p++)
            {
                double v = w[p] / sum;
                if (v == 0) continue;
                index.Add(Mirror((long)left + p - 1, inLength));
                weight.Add(v);
            }
        }
        start[outLength] = index.Count;
        return new CubicWeights(inLength, outLength, scale, antialias, start, index.ToArray(), weight.ToArray());
    }

    /// <summary>0-based index into [0, n) of the symmetric extension 0..n-1, n-1..0 (period 2n).</summary>
    internal static int Mirror(long i, int n)
    {
        long m = ((i % (2L * n)) + 2L * n) % (2L * n);
        return (int)(m < n ? m : 2L * n - 1 - m);
    }

    private static readonly ConcurrentDictionary<(int, int, double, bool), CubicWeights> Cache = new();

    /// <summary><see cref="Create"/> through a cache keyed by all four arguments (cleared past 512 entries).</summary>
    public static CubicWeights Get(int inLength, int outLength, double scale, bool antialias)
    {
        var key = (inLength, outLength, scale, antialias);
        if (Cache.TryGetValue(key, out var hit)) return hit;
        var made = Create(inLength, outLength, scale, antialias);
        if (Cache.Count >= 512) Cache.Clear();
        return Cache.GetOrAdd(key, made);
    }
}

public static class Resize
{
    /// <summary>The output length MATLAB gives for a scale: ceil(scale * n).</summary>
    public static int OutputLength(int n, double scale, string op = "Resize.OutputLength")
    {
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new InvalidArgumentException(op, $"scale must be finite and > 0, got {scale}");
        double o = Math.Ceiling(scale * n);
        if (o > 1 << 24)
            throw new InvalidArgumentException(op, $"scale {scale} of length {n} gives {o} pixels (limit {1 << 24})");
        return (int)o;
    }

    /// <summary>MATLAB imresize(img, scale, 'bicubic') in float32 (no clamping); output
    /// ceil(scale * H) x ceil(scale * W).</summary>
    public static Image Bicubic(Image img, double scale, bool antialias = true)
    {
        const string op = "Resize.Bicubic";
        var plan = Plan.FromScale(op, img.Height, img.Width, scale, antialias);
        return new Image(plan.W.OutLength, plan.H.OutLength, RunFloat(img.Data, Image.Channels, plan));
    }

    /// <summary>MATLAB imresize(img, [outHeight outWidth], 'bicubic') in float32 (no clamping).</summary>
    public static Image Bicubic(Image img, int outHeight, int outWidth, bool antialias = true)
    {
        const string op = "Resize.Bicubic";
        var plan = Plan.FromSize(op, img.Height, img.Width, outHeight, outWidth, antialias);
        return new Image(outWidth, outHeight, RunFloat(img.Data, Image.Channels, plan));
    }

    /// <summary>Bicubic resize of a (C, H, W) or (N, C, H, W) float32/float64 tensor on any device,
    /// every plane as <see cref="Bicubic(Image, double, bool)"/>. Computed on the host (float32 sums
    /// for f32, float64 for f64); the result has the input's dtype and device. Not differentiable.</summary>
    public static Tensor Bicubic(Tensor x, double scale, bool antialias = true)
    {
        const string op = "Resize.Bicubic";
        var (lead, h, w) = PlaneTensor.Check(op, x);
        var plan = Plan.FromScale(op, h, w, scale, antialias);
        return Run(x, lead, plan);
    }

    /// <summary>As <see cref="Bicubic(Tensor, double, bool)"/> to an explicit output size.</summary>
    public static Tensor Bicubic(Tensor x, int outHeight, int outWidth, bool antialias = true)
    {
        const string op = "Resize.Bicubic";
        var (lead, h, w) = PlaneTensor.Check(op, x);
        var plan = Plan.FromSize(op, h, w, outHeight, outWidth, antialias);
        return Run(x, lead, plan);
    }

    /// <summary>The uint8 path of MATLAB imresize / the ports: the image is quantized to 8 bits
    /// (<see cref="Image.Quantize"/>), each 1-D pass is computed in float64, clipped to [0, 255] and
    /// rounded (ties by <paramref name="rounding"/>: ToEven as np.around, AwayFromZero as MATLAB).
    /// The result holds k/255 values.</summary>
    public static Image BicubicUint8(Image img, double scale, bool antialias = true, MidpointRounding rounding = MidpointRounding.ToEven)
    {
        var plan = Plan.FromScale("Resize.BicubicUint8", img.Height, img.Width, scale, antialias);
        return Uint8FromImage(img, plan, rounding);
    }

    public static Image BicubicUint8(Image img, int outHeight, int outWidth, bool antialias = true, MidpointRounding rounding = MidpointRounding.ToEven)
    {
        var plan = Plan.FromSize("Resize.BicubicUint8", img.Height, img.Width, outHeight, outWidth, antialias);
        return Uint8FromImage(img, plan, rounding);
    }

    /// <summary>The uint8 path on an 8-bit image (any channel count; values taken as they are).</summary>
    public static Image8 BicubicUint8(Image8 img, double scale, bool antialias = true, MidpointRounding rounding = MidpointRounding.ToEven)
    {
        var plan = Plan.FromScale("Resize.BicubicUint8", img.Height, img.Width, scale, antialias);
        return Uint8FromImage8(img, plan, rounding);
    }

    public static Image8 BicubicUint8(Image8 img, int outHeight, int outWidth, bool antialias = true, MidpointRounding rounding = MidpointRounding.ToEven)
    {
        var plan = Plan.FromSize("Resize.BicubicUint8", img.Height, img.Width, outHeight, outWidth, antialias);
        return Uint8FromImage8(img, plan, rounding);
    }

    /// <summary>BasicSR modcrop: keeps the top-left (H - H mod m) x (W - W mod m).</summary>
    public static Image ModCrop(Image img, int multiple)
    {
        var (h, w) = ModCropSize("Resize.ModCrop", img.Height, img.Width, multiple);
        if (h == img.Height && w == img.Width) return img;
        var d = new float[Image.Channels * h * w];
        for (int c = 0; c < Image.Channels; c++)
            for (int y = 0; y < h; y++)
                Array.Copy(img.Data, (c * img.Height + y) * img.Width, d, (c * h + y) * w, w);
        return new Image(w, h, d, img.SourceBitDepth);
    }

    /// <summary>BasicSR modcrop on an 8-bit image.</summary>
    public static Image8 ModCrop(Image8 img, int multiple)
    {
        var (h, w) = ModCropSize("Resize.ModCrop", img.Height, img.Width, multiple);
        int c = img.Channels;
        var bytes = new byte[h * w * c];
        for (int y = 0; y < h; y++)
            for (int i = 0; i < w * c; i++) bytes[y * w * c + i] = (byte)img.Data[y * img.Width * c + i];
        return Image8.FromBytes(bytes, h, w, c);
    }

    private static (int h, int w) ModCropSize(string op, int h, int w, int m)
    {
        if (m < 1) throw new InvalidArgumentException(op, $"multiple must be >= 1, got {m}");
        if (h < m || w < m) throw new InvalidArgumentException(op, $"image {h}x{w} is smaller than the multiple {m}");
        return (h - h % m, w - w % m);
    }

    /// <summary>Both axes' weights and the pass order of one resize.</summary>
    private sealed record Plan(CubicWeights H, CubicWeights W, bool HFirst)
    {
        public static Plan FromScale(string op, int h, int w, double scale, bool antialias)
        {
            int oh = OutputLength(h, scale, op), ow = OutputLength(w, scale, op);
            return new Plan(CubicWeights.Get(h, oh, scale, antialias), CubicWeights.Get(w, ow, scale, antialias), true);
        }

        public static Plan FromSize(string op, int h, int w, int oh, int ow, bool antialias)
        {
            if (oh <= 0 || ow <= 0 || oh > 1 << 24 || ow > 1 << 24)
                throw new InvalidArgumentException(op, $"output size must be in 1..{1 << 24}, got {oh}x{ow}");
            double sh = (double)oh / h, sw = (double)ow / w;
            return new Plan(CubicWeights.Get(h, oh, sh, antialias), CubicWeights.Get(w, ow, sw, antialias), sh <= sw);
        }

        public int InPlane => H.InLength * W.InLength;
        public int OutPlane => H.OutLength * W.OutLength;
        /// <summary>Size of the intermediate plane after the first pass.</summary>
        public int MidPlane => HFirst ? H.OutLength * W.InLength : H.InLength * W.OutLength;
    }

    private static float[] RunFloat(float[] src, int planes, Plan plan)
    {
        var dst = new float[(long)planes * plan.OutPlane];
        RunPlanes<float>(src, dst, planes, plan, plan.H.WeightF, plan.W.WeightF, null);
        return dst;
    }

    private static Tensor Run(Tensor x, int planes, Plan plan)
    {
        var shape = x.Shape;
        shape[^2] = plan.H.OutLength; shape[^1] = plan.W.OutLength;
        if (x.DType == DType.F64)
        {
            var dst = new double[(long)planes * plan.OutPlane];
            RunPlanes<double>(x.ToDoubleArray(), dst, planes, plan, plan.H.Weight.ToArray(), plan.W.Weight.ToArray(), null);
            return Tensor.FromArray(dst, shape, x.Device);
        }
        return Tensor.FromArray(RunFloat(x.ToFloatArray(), planes, plan), shape, x.Device);
    }

    private static Image Uint8FromImage(Image img, Plan plan, MidpointRounding rounding)
    {
        var src = new double[img.Data.Length];
        for (int i = 0; i < src.Length; i++) src[i] = Image.Quantize(img.Data[i]);
        var dst = new double[Image.Channels * plan.OutPlane];
        RunPlanes<double>(src, dst, Image.Channels, plan, plan.H.Weight.ToArray(), plan.W.Weight.ToArray(), rounding);
        var d = new float[dst.Length];
        for (int i = 0; i < d.Length; i++) d[i] = (float)dst[i] / 255f;
        return new Image(plan.W.OutLength, plan.H.OutLength, d);
    }

    private static Image8 Uint8FromImage8(Image8 img, Plan plan, MidpointRounding rounding)
    {
        int c = img.Channels, hw = img.Height * img.Width;
        var src = new double[img.Data.Length];
        for (int i = 0; i < hw; i++)
            for (int k = 0; k < c; k++) src[k * hw + i] = img.Data[i * c + k]; // HWC -> CHW
        var dst = new double[c * plan.OutPlane];
        RunPlanes<double>(src, dst, c, plan, plan.H.Weight.ToArray(), plan.W.Weight.ToArray(), rounding);
        int ohw = plan.OutPlane;
        var bytes = new byte[dst.Length];
        for (int i = 0; i < ohw; i++)
            for (int k = 0; k < c; k++) bytes[i * c + k] = (byte)dst[k * ohw + i];
        return Image8.FromBytes(bytes, plan.H.OutLength, plan.W.OutLength, c);
    }

    /// <summary>Resizes <paramref name="planes"/> contiguous planes; with <paramref name="rounding"/>
    /// each pass's output is clipped to [0, 255] and rounded. Planes run in parallel above a grain.</summary>
    private static void RunPlanes<T>(T[] src, T[] dst, int planes, Plan plan, T[] wh, T[] ww, MidpointRounding? rounding)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int inPlane = plan.InPlane, outPlane = plan.OutPlane, mid = plan.MidPlane;
        long work = (long)planes * (inPlane + mid + outPlane) * 4;
        CpuThreads.ForChunks(planes, work, (a, b) =>
        {
            var tmp = new T[mid];
            for (long p = a; p < b; p++)
            {
                var s = new ReadOnlySpan<T>(src, (int)(p * inPlane), inPlane);
                var d = new Span<T>(dst, (int)(p * outPlane), outPlane);
                if (plan.HFirst)
                {
                    AlongH(s, tmp, plan.W.InLength, plan.H, wh);
                    if (rounding is { } r1) Round(tmp, r1);
                    AlongW(tmp, d, plan.H.OutLength, plan.W, ww);
                }
                else
                {
                    AlongW(s, tmp, plan.H.InLength, plan.W, ww);
                    if (rounding is { } r1) Round(tmp, r1);
                    AlongH(tmp, d, plan.W.OutLength, plan.H, wh);
                }
                if (rounding is { } r2) Round(d, r2);
            }
        });
    }

    private static void Round<T>(Span<T> v, MidpointRounding mode) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T lo = T.Zero, hi = T.CreateTruncating(255);
        for (int i = 0; i < v.Length; i++) v[i] = T.Round(T.Clamp(v[i], lo, hi), mode);
    }

    /// <summary>Resamples along H: dst row i = sum_k w_k * src row idx_k, rows of <paramref name="width"/>
    /// values, accumulated tap by tap in order (rows are vectorized).</summary>
    private static void AlongH<T>(ReadOnlySpan<T> src, Span<T> dst, int width, CubicWeights a, T[] wts)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var start = a.Start;
        var index = a.Index;
        for (int i = 0; i < a.OutLength; i++)
        {
            var acc = dst.Slice(i * width, width);
            acc.Clear();
            for (int k = start[i]; k < start[i + 1]; k++)
                Axpy(acc, src.Slice(index[k] * width, width), wts[k]);
        }
    }

    /// <summary>Resamples along W (the contiguous axis) for each of <paramref name="rows"/> rows.</summary>
    private static void AlongW<T>(ReadOnlySpan<T> src, Span<T> dst, int rows, CubicWeights a, T[] wts)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var start = a.Start;
        var index = a.Index;
        int inW = a.InLength, outW = a.OutLength;
        for (int r = 0; r < rows; r++)
        {
            var row = src.Slice(r * inW, inW);
            var o = dst.Slice(r * outW, outW);
            for (int j = 0; j < outW; j++)
            {
                T acc = T.Zero;
                for (int k = start[j]; k < start[j + 1]; k++) acc += wts[k] * row[index[k]];
                o[j] = acc;
            }
        }
    }

    /// <summary>acc += w * x elementwise, each element rounded as (w * x) then the sum (no fused
    /// multiply-add, so the float64 path matches a numpy reference bit for bit).</summary>
    internal static void Axpy<T>(Span<T> acc, ReadOnlySpan<T> x, T w) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = acc.Length, i = 0;
        if (Vector.IsHardwareAccelerated && n >= Vector<T>.Count)
        {
            var va = MemoryMarshal.Cast<T, Vector<T>>(acc);
            var vx = MemoryMarshal.Cast<T, Vector<T>>(x);
            var vw = new Vector<T>(w);
            for (int v = 0; v < va.Length; v++) va[v] += vw * vx[v];
            i = va.Length * Vector<T>.Count;
        }
        for (; i < n; i++) acc[i] += w * x[i];
    }
}
