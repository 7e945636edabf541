// Filters: separable Gaussian blur by kernel size and sigma (the low-pass h of LUD-VAE: 9/4, 9/3,
// 21/10), as cv2.GaussianBlur(img, (s, s), sigma) computes it on float images.
// - Kernel: g_i = exp(-(i - (s-1)/2)^2 / (2 sigma^2)) normalized to sum 1 (cv2.getGaussianKernel
//   with sigma > 0); size must be odd, sigma > 0.
// - Rows (along W) first, then columns, in float32 for images and f32 tensors, float64 for f64
//   tensors; correlation = convolution since the kernel is symmetric.
// - Borders (OpenCV's names): Reflect101 (default, cv2.BORDER_REFLECT_101 / numpy 'reflect' /
//   torch 'reflect': d c b | a b c d), Reflect (BORDER_REFLECT / numpy 'symmetric': c b a | a b c d),
//   Replicate (edge value), Zero (constant 0). A kernel wider than the image reflects repeatedly
//   (the periodic extension, as OpenCV's borderInterpolate and numpy's pad do); Reflect101 of a
//   single pixel repeats it.
using System.Numerics;
using Engine.Cpu;

namespace Engine.Imaging;

/// <summary>How a filter reads pixels outside the image (OpenCV's border names).</summary>
public enum BorderMode
{
    /// <summary>d c b | a b c d | c b a (cv2.BORDER_REFLECT_101, the cv2.GaussianBlur default).</summary>
    Reflect101,
    /// <summary>c b a | a b c d | d c b (cv2.BORDER_REFLECT, numpy 'symmetric').</summary>
    Reflect,
    /// <summary>a a a | a b c d | d d d (cv2.BORDER_REPLICATE).</summary>
    Replicate,
    /// <summary>0 0 0 | a b c d | 0 0 0 (cv2.BORDER_CONSTANT with 0).</summary>
    Zero,
}

public static class Filters
{
    /// <summary>The normalized sampled Gaussian of odd <paramref name="size"/> centred on the middle tap.</summary>
    public static double[] GaussianKernel1D(int size, double sigma)
    {
        const string op = "Filters.GaussianKernel1D";
        CheckKernel(op, size, sigma);
        var k = new double[size];
        double c = (size - 1) / 2.0, sum = 0;
        for (int i = 0; i < size; i++)
        {
            double x = i - c;
            k[i] = Math.Exp(-(x * x) / (2 * sigma * sigma));
            sum += k[i];
        }
        for (int i = 0; i < size; i++) k[i] /= sum;
        return k;
    }

    private static void CheckKernel(string op, int size, double sigma)
    {
        if (size < 1 || size % 2 == 0)
            throw new InvalidArgumentException(op, $"kernel size must be odd and >= 1, got {size}");
        if (!(sigma > 0) || double.IsInfinity(sigma))
            throw new InvalidArgumentException(op, $"sigma must be finite and > 0, got {sigma}");
    }

    /// <summary>cv2.GaussianBlur(img, (size, size), sigma, borderType) on each RGB plane, float32.</summary>
    public static Image GaussianBlur(Image img, int size, double sigma, BorderMode border = BorderMode.Reflect101)
    {
        CheckKernel("Filters.GaussianBlur", size, sigma);
        var k = GaussianKernel1D(size, sigma);
        return Separable(img, k, k, border);
    }

    /// <summary>Gaussian blur of every plane of a (C, H, W) or (N, C, H, W) f32/f64 tensor on any
    /// device, computed on the host; the result keeps dtype and device. Not differentiable.</summary>
    public static Tensor GaussianBlur(Tensor x, int size, double sigma, BorderMode border = BorderMode.Reflect101)
    {
        const string op = "Filters.GaussianBlur";
        CheckKernel(op, size, sigma);
        var (planes, h, w) = PlaneTensor.Check(op, x);
        var k = GaussianKernel1D(size, sigma);
        if (x.DType == DType.F64)
        {
            var src = x.ToDoubleArray();
            var dst = new double[src.Length];
            RunPlanes(src, dst, planes, h, w, k, k, border);
            return Tensor.FromArray(dst, x.Shape, x.Device);
        }
        var s32 = x.ToFloatArray();
        var d32 = new float[s32.Length];
        var k32 = Array.ConvertAll(k, v => (float)v);
        RunPlanes(s32, d32, planes, h, w, k32, k32, border);
        return Tensor.FromArray(d32, x.Shape, x.Device);
    }

    /// <summary>Correlates each plane with <paramref name="kernelX"/> along W, then <paramref name="kernelY"/>
    /// along H (odd lengths, centred), in float32.</summary>
    public static Image Separable(Image img, ReadOnlySpan<double> kernelY, ReadOnlySpan<double> kernelX, BorderMode border = BorderMode.Reflect101)
    {
        const string op = "Filters.Separable";
        if (kernelX.Length % 2 == 0 || kernelY.Length % 2 == 0)
            throw new InvalidArgumentException(op, $"kernel lengths must be odd, got {kernelY.Length} (H) and {kernelX.Length} (W)");
        if (!Enum.IsDefined(border))
            throw new InvalidArgumentException(op, $"unknown border mode {(int)border}");
        var kx = new float[kernelX.Length];
        var ky = new float[kernelY.Length];
        for (int i = 0; i < kx.Length; i++) kx[i] = (float)kernelX[i];
        for (int i = 0; i < ky.Length; i++) ky[i] = (float)kernelY[i];
        var dst = new float[img.Data.Length];
        RunPlanes(img.Data, dst, Image.Channels, img.Height, img.Width, ky, kx, border);
        return new Image(img.Width, img.Height, dst, img.SourceBitDepth);
    }

    /// <summary>Where out-of-range position <paramref name="p"/> reads from in [0, n) under
    /// <paramref name="mode"/>; -1 for <see cref="BorderMode.Zero"/> outside.</summary>
    public static int BorderIndex(long p, int n, BorderMode mode)
    {
        if (p >= 0 && p < n) return (int)p;
        switch (mode)
        {
            case BorderMode.Replicate: return p < 0 ? 0 : n - 1;
            case BorderMode.Zero: return -1;
            case BorderMode.Reflect:
                return CubicWeights.Mirror(p, n);
            case BorderMode.Reflect101:
            {
                if (n == 1) return 0;
                long period = 2L * n - 2;
                long m = ((p % period) + period) % period;
                return (int)(m < n ? m : period - m);
            }
            default: throw new InvalidArgumentException("Filters.BorderIndex", $"unknown border mode {(int)mode}");
        }
    }

    private static void RunPlanes<T>(T[] src, T[] dst, int planes, int h, int w, T[] ky, T[] kx, BorderMode border)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rx = kx.Length / 2, ry = ky.Length / 2;
        var mapX = new int[w + 2 * rx];
        for (int i = 0; i < mapX.Length; i++) mapX[i] = BorderIndex(i - rx, w, border);
        var mapY = new int[h + 2 * ry];
        for (int i = 0; i < mapY.Length; i++) mapY[i] = BorderIndex(i - ry, h, border);
        int plane = h * w;
        long work = (long)planes * plane * (kx.Length + ky.Length);
        CpuThreads.ForChunks(planes, work, (a, b) =>
        {
            var tmp = new T[plane];
            var pad = new T[w + 2 * rx];
            for (long p = a; p < b; p++)
            {
                var s = new ReadOnlySpan<T>(src, (int)(p * plane), plane);
                var d = new Span<T>(dst, (int)(p * plane), plane);
                // along W: pad each row by the border rule, then one vectorized axpy per tap
                for (int y = 0; y < h; y++)
                {
                    var row = s.Slice(y * w, w);
                    for (int i = 0; i < pad.Length; i++) pad[i] = mapX[i] < 0 ? T.Zero : row[mapX[i]];
                    var o = tmp.AsSpan(y * w, w);
                    o.Clear();
                    for (int k = 0; k < kx.Length; k++) Resize.Axpy(o, pad.AsSpan(k, w), kx[k]);
                }
                // along H: output row y = sum_k ky[k] * row mapY[y + k]
                for (int y = 0; y < h; y++)
                {
                    var o = d.Slice(y * w, w);
                    o.Clear();
                    for (int k = 0; k < ky.Length; k++)
                    {
                        int sy = mapY[y + k];
                        if (sy >= 0) Resize.Axpy(o, tmp.AsSpan(sy * w, w), ky[k]);
                    }
                }
            }
        });
    }
}
