// 2-D max / average pooling over contiguous NCHW buffers (PyTorch semantics, floor mode), generic over
// float and double. Forward kernels overwrite y (and argmax); backward kernels OVERWRITE gx (zero it, then
// accumulate every window's contribution). Work is split over the N*C planes with Parallel.For once a
// call touches more than 64K elements; each plane is processed by one thread in a fixed order, so results
// are bit-identical whatever the split.
using System.Numerics;

namespace Engine.Cpu.Kernels;

public static unsafe class PoolKernels
{
    private const long ParallelThreshold = 1 << 16;

    /// <summary>PyTorch output size (floor mode): floor((in + 2*pad - dilation*(k-1) - 1) / stride) + 1;
    /// zero or negative when the input is too small.</summary>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation = 1)
    {
        long num = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1;
        if (num < 0) return 0;
        return (int)(num / stride) + 1;
    }

    /// <summary>Max pooling; padding counts as -inf. y and argmax are (N, C, OH, OW); argmax holds the flat
    /// index h*W + w of the chosen element inside its (H, W) plane. Ties pick the first element in scan order
    /// (rows, then columns), NaN wins (the last NaN seen), as in PyTorch. A window with no element inside the
    /// input (possible only with large dilation) yields -inf and argmax -1, which the backward skips.</summary>
    public static void MaxPool2d<T>(int n, int c, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW,
        T* x, T* y, int* argmax) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckGeometry(n, c, h, w, kH, kW, sH, sW, pH, pW, dH, dW);
        int oh = OutputSize(h, kH, sH, pH, dH), ow = OutputSize(w, kW, sW, pW, dW);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"MaxPool2d: input {h}x{w} too small for kernel {kH}x{kW} (pad {pH},{pW}, dilation {dH},{dW})");
        int planes = n * c;
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(planes, planes * (inPlane + outPlane), p =>
        {
            T* xp = x + p * inPlane;
            T* yp = y + p * outPlane;
            int* ap = argmax + p * outPlane;
            for (int i = 0; i < oh; i++)
            {
                int h0 = i * sH - pH, h1 = Math.Min(h0 + (kH - 1) * dH + 1, h);
                while (h0 < 0) h0 += dH;
                for (int j = 0; j < ow; j++)
                {
                    int w0 = j * sW - pW, w1 = Math.Min(w0 + (kW - 1) * dW + 1, w);
                    while (w0 < 0) w0 += dW;
                    T best = T.NegativeInfinity;
                    int bestIdx = -1;
                    for (int a = h0; a < h1; a += dH)
                    {
                        T* row = xp + (long)a * w;
                        for (int b = w0; b < w1; b += dW)
                        {
                            T v = row[b];
                            if (bestIdx < 0 || v > best || T.IsNaN(v)) { best = v; bestIdx = a * w + b; }
                        }
                    }
                    long o = (long)i * ow + j;
                    yp[o] = best;
                    ap[o] = bestIdx;
                }
            }
        });
    }

    /// <summary>gx (N, C, H, W) = 0, then gx[plane][argmax[o]] += gy[o] for every output o (overlapping windows
    /// accumulate). argmax entries of -1 are skipped; anything else outside [0, H*W) throws.</summary>
    public static void MaxPool2dBackward<T>(int n, int c, int h, int w, int oh, int ow, T* gy, int* argmax, T* gx)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n < 0 || c < 0 || h < 0 || w < 0 || oh < 0 || ow < 0) throw new ArgumentException("MaxPool2dBackward: negative size");
        int planes = n * c;
        long inPlane = (long)h * w, outPlane = (long)oh * ow, total = planes * outPlane;
        for (long o = 0; o < total; o++)
        {
            int a = argmax[o];
            if (a < -1 || a >= inPlane)
                throw new ArgumentOutOfRangeException(nameof(argmax), a, $"MaxPool2dBackward: argmax {a} at position {o} outside the {h}x{w} plane");
        }
        ForPlanes(planes, planes * (inPlane + outPlane), p =>
        {
            T* gxp = gx + p * inPlane;
            T* gyp = gy + p * outPlane;
            int* ap = argmax + p * outPlane;
            new Span<T>(gxp, checked((int)inPlane)).Clear();
            for (long o = 0; o < outPlane; o++)
            {
                int a = ap[o];
                if (a >= 0) gxp[a] += gyp[o];
            }
        });
    }

    /// <summary>Average pooling (no dilation). The window is clipped to the padded input; the divisor is the
    /// clipped window size including padding when countIncludePad, else the number of real input elements
    /// in it. A window wholly in the padding gives 0 (as PyTorch).</summary>
    public static void AvgPool2d<T>(int n, int c, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, bool countIncludePad,
        T* x, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckGeometry(n, c, h, w, kH, kW, sH, sW, pH, pW, 1, 1);
        int oh = OutputSize(h, kH, sH, pH), ow = OutputSize(w, kW, sW, pW);
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"AvgPool2d: input {h}x{w} too small for kernel {kH}x{kW} (pad {pH},{pW})");
        int planes = n * c;
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(planes, planes * (inPlane + outPlane), p =>
        {
            T* xp = x + p * inPlane;
            T* yp = y + p * outPlane;
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1, ph) = Window(i, kH, sH, pH, h);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1, pw) = Window(j, kW, sW, pW, w);
                    long o = (long)i * ow + j;
                    if (h0 >= h1 || w0 >= w1) { yp[o] = T.Zero; continue; }
                    T sum = T.Zero;
                    for (int a = h0; a < h1; a++)
                    {
                        T* row = xp + (long)a * w;
                        for (int b = w0; b < w1; b++) sum += row[b];
                    }
                    int div = countIncludePad ? ph * pw : (h1 - h0) * (w1 - w0);
                    yp[o] = sum / T.CreateTruncating(div);
                }
            }
        });
    }

    /// <summary>gx (N, C, H, W) = 0, then each gy[o] / divisor is added to every input element of window o.
    /// Same parameters as the forward; gy is (N, C, OH, OW) with OH/OW from <see cref="OutputSize"/>.</summary>
    public static void AvgPool2dBackward<T>(int n, int c, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, bool countIncludePad,
        T* gy, T* gx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        CheckGeometry(n, c, h, w, kH, kW, sH, sW, pH, pW, 1, 1);
        int oh = Math.Max(0, OutputSize(h, kH, sH, pH)), ow = Math.Max(0, OutputSize(w, kW, sW, pW));
        int planes = n * c;
        long inPlane = (long)h * w, outPlane = (long)oh * ow;
        ForPlanes(planes, planes * (inPlane + outPlane), p =>
        {
            T* gxp = gx + p * inPlane;
            T* gyp = gy + p * outPlane;
            new Span<T>(gxp, checked((int)inPlane)).Clear();
            for (int i = 0; i < oh; i++)
            {
                var (h0, h1, ph) = Window(i, kH, sH, pH, h);
                for (int j = 0; j < ow; j++)
                {
                    var (w0, w1, pw) = Window(j, kW, sW, pW, w);
                    if (h0 >= h1 || w0 >= w1) continue;
                    int div = countIncludePad ? ph * pw : (h1 - h0) * (w1 - w0);
                    T g = gyp[(long)i * ow + j] / T.CreateTruncating(div);
                    for (int a = h0; a < h1; a++)
                    {
                        T* row = gxp + (long)a * w;
                        for (int b = w0; b < w1; b++) row[b] += g;
                    }
                }
            }
        });
    }

    /// <summary>Window of output index i along one axis: [start, end) clipped to the input, and the length of
    /// the window clipped to the padded input (PyTorch's pool_size factor).</summary>
    private static (int start, int end, int padded) Window(int i, int k, int s, int p, int size)
    {
        int start = i * s - p, end = Math.Min(start + k, size + p);
        int padded = end - start;
        return (Math.Max(start, 0), Math.Min(end, size), padded);
    }

    private static void CheckGeometry(int n, int c, int h, int w, int kH, int kW, int sH, int sW, int pH, int pW, int dH, int dW)
    {
        if (n < 0 || c < 0 || h < 0 || w < 0) throw new ArgumentException($"pooling: negative input size ({n}, {c}, {h}, {w})");
        if (kH < 1 || kW < 1 || sH < 1 || sW < 1 || dH < 1 || dW < 1 || pH < 0 || pW < 0)
            throw new ArgumentException($"pooling: bad parameters kernel {kH}x{kW}, stride {sH}x{sW}, pad {pH}x{pW}, dilation {dH}x{dW}");
    }

    /// <summary>Runs body(plane) for every plane; in parallel when the call touches more than 64K elements.</summary>
    private static void ForPlanes(int planes, long work, Action<int> body)
    {
        if (work <= ParallelThreshold || planes < 2 || Environment.ProcessorCount < 2)
            for (int p = 0; p < planes; p++) body(p);
        else
            Parallel.For(0, planes, body);
    }
}
