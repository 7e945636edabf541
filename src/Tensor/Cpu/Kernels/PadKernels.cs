// 2-D padding of the last two axes of a contiguous (planes, H, W) buffer by (left, right, top, bottom),
// PyTorch F.pad semantics for 'constant', 'reflect' (mirror without repeating the edge) and 'replicate'.
// Pad2d overwrites y (planes, H+top+bottom, W+left+right); Pad2dBackward OVERWRITES gx (planes, H, W):
// the interior is copied, and for Reflect/Replicate every padded gradient is accumulated onto its source.
// Negative pads are rejected (no cropping); Reflect needs every pad < the size of its axis.
// Work is split over planes with Parallel.For above 64K elements; one thread per plane (deterministic).
using System.Numerics;

namespace Engine
{
    /// <summary>Border rule for <see cref="Engine.Cpu.Kernels.PadKernels"/>: constant value, mirror
    /// (edge not repeated, PyTorch 'reflect') or edge replication.</summary>
    public enum PadMode { Zero, Reflect, Replicate }
}

namespace Engine.Cpu.Kernels
{
    public static unsafe class PadKernels
    {
        private const long ParallelThreshold = 1 << 16;

        /// <summary>Source index along one axis of padded position o (0 &lt;= o &lt; size + before + after),
        /// or -1 for a constant (Zero-mode) border cell.</summary>
        public static int SourceIndex(int o, int size, int before, PadMode mode)
        {
            int i = o - before;
            if ((uint)i < (uint)size) return i;
            switch (mode)
            {
                case PadMode.Reflect:
                    if (i < 0) i = -i;
                    if (i >= size) i = 2 * (size - 1) - i;
                    return i;
                case PadMode.Replicate:
                    return i < 0 ? 0 : size - 1;
                default:
                    return -1;
            }
        }

        /// <summary>y = pad(x); Zero mode fills the border with value.</summary>
        public static void Pad2d<T>(int planes, int h, int w, int left, int right, int top, int bottom, PadMode mode, T value, T* x, T* y)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            Check(planes, h, w, left, right, top, bottom, mode);
            int oh = h + top + bottom, ow = w + left + right;
            int[] rows = Table(oh, h, top, mode), cols = Table(ow, w, left, mode);
            long inPlane = (long)h * w, outPlane = (long)oh * ow;
            ForPlanes(planes, planes * (inPlane + outPlane), p =>
            {
                T* xp = x + p * inPlane;
                T* yp = y + p * outPlane;
                for (int i = 0; i < oh; i++)
                {
                    T* dst = yp + (long)i * ow;
                    int r = rows[i];
                    if (r < 0) { new Span<T>(dst, ow).Fill(value); continue; }
                    T* src = xp + (long)r * w;
                    for (int j = 0; j < left; j++) dst[j] = cols[j] < 0 ? value : src[cols[j]];
                    new Span<T>(src, w).CopyTo(new Span<T>(dst + left, w));
                    for (int j = left + w; j < ow; j++) dst[j] = cols[j] < 0 ? value : src[cols[j]];
                }
            });
        }

        /// <summary>gx = d pad(x) / dx applied to gy: the interior of gy, plus (Reflect/Replicate) every border
        /// gradient added onto the element it was copied from, in row-major order of gy.</summary>
        public static void Pad2dBackward<T>(int planes, int h, int w, int left, int right, int top, int bottom, PadMode mode, T* gy, T* gx)
            where T : unmanaged, IFloatingPointIeee754<T>
        {
            Check(planes, h, w, left, right, top, bottom, mode);
            int oh = h + top + bottom, ow = w + left + right;
            int[] rows = Table(oh, h, top, mode), cols = Table(ow, w, left, mode);
            long inPlane = (long)h * w, outPlane = (long)oh * ow;
            ForPlanes(planes, planes * (inPlane + outPlane), p =>
            {
                T* gxp = gx + p * inPlane;
                T* gyp = gy + p * outPlane;
                if (mode == PadMode.Zero)
                {
                    for (int i = 0; i < h; i++)
                        new Span<T>(gyp + (long)(i + top) * ow + left, w).CopyTo(new Span<T>(gxp + (long)i * w, w));
                    return;
                }
                new Span<T>(gxp, checked((int)inPlane)).Clear();
                for (int i = 0; i < oh; i++)
                {
                    T* src = gyp + (long)i * ow;
                    T* dst = gxp + (long)rows[i] * w;
                    for (int j = 0; j < ow; j++) dst[cols[j]] += src[j];
                }
            });
        }

        private static int[] Table(int outSize, int size, int before, PadMode mode)
        {
            var t = new int[outSize];
            for (int o = 0; o < outSize; o++) t[o] = SourceIndex(o, size, before, mode);
            return t;
        }

        private static void Check(int planes, int h, int w, int left, int right, int top, int bottom, PadMode mode)
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

        /// <summary>Runs body(plane) for every plane; in parallel when the call touches more than 64K elements.</summary>
        private static void ForPlanes(int planes, long work, Action<int> body)
        {
            if (work <= ParallelThreshold || planes < 2 || Environment.ProcessorCount < 2)
                for (int p = 0; p < planes; p++) body(p);
            else
                Parallel.For(0, planes, body);
        }
    }
}
