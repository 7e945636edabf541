// CPU reductions. Kept axes index the (keepdim, contiguous) output; for each output element the
// reduced sub-space is walked as coalesced strided runs by a struct accumulator. Float inputs
// accumulate in double. Var and LogSumExp take two passes (mean / max first) for stability.
using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Cpu;

internal unsafe interface IAcc<T> where T : unmanaged
{
    void Run(T* p, int n, long stride);
}

public sealed unsafe partial class CpuBackend
{
    public void Reduce(ReduceOp op, Buf x, int[] axes, Buf y, int correction)
    {
        if (x.DType == DType.F32) ReduceT<float>(op, x, axes, y, correction);
        else if (x.DType == DType.F64) ReduceT<double>(op, x, axes, y, correction);
        else throw new DTypeMismatchException(op.ToString(), $"cpu reduce on {x.DType.Name()}");
    }

    private static void ReduceT<T>(ReduceOp op, Buf x, int[] axes, Buf y, int correction) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var L = x.Layout;
        var kept = Enumerable.Range(0, L.Rank).Where(i => !axes.Contains(i)).ToArray();
        int[] ks = kept.Select(i => L.Shape[i]).ToArray();
        long[] kst = kept.Select(i => L.Strides[i]).ToArray();
        var (rs, rstArr) = Strided.Coalesce(axes.Select(i => L.Shape[i]).ToArray(), [axes.Select(i => L.Strides[i]).ToArray()]);
        long[] rst = rstArr[0];
        long count = 1; foreach (int a in axes) count *= L.Shape[a];
        long nOut = y.Numel;
        T* px = P<T>(x);
        bool arg = op is ReduceOp.ArgMax or ReduceOp.ArgMin;
        T* py = arg ? null : P<T>(y);
        int* pi = arg ? P<int>(y) : null;

        CpuThreads.ForChunks(nOut, nOut * Math.Max(count, 1), (j0, j1) =>
        {
            var idx = new long[ks.Length];
            long rem = j0;
            for (int d = ks.Length - 1; d >= 0; d--) { idx[d] = rem % ks[d]; rem /= ks[d]; }
            for (long j = j0; j < j1; j++)
            {
                long off = 0;
                for (int d = 0; d < ks.Length; d++) off += idx[d] * kst[d];
                T* b = px + off;
                switch (op)
                {
                    case ReduceOp.Sum: { var a = new SumAcc<T>(); Walk(b, rs, rst, ref a); py[j] = T.CreateTruncating(a.S); break; }
                    case ReduceOp.Mean: { var a = new SumAcc<T>(); Walk(b, rs, rst, ref a); py[j] = T.CreateTruncating(a.S / count); break; }
                    case ReduceOp.Max: { var a = new MaxAcc<T>(true); Walk(b, rs, rst, ref a); py[j] = a.M; break; }
                    case ReduceOp.Min: { var a = new MaxAcc<T>(false); Walk(b, rs, rst, ref a); py[j] = a.M; break; }
                    case ReduceOp.Var:
                    {
                        var s = new SumAcc<T>(); Walk(b, rs, rst, ref s);
                        var v = new SqDevAcc<T>(s.S / count); Walk(b, rs, rst, ref v);
                        py[j] = T.CreateTruncating(v.S / Math.Max(count - correction, 0));
                        break;
                    }
                    case ReduceOp.LogSumExp:
                    {
                        var m = new MaxAcc<T>(true); Walk(b, rs, rst, ref m);
                        double mx = double.CreateTruncating(m.M);
                        if (double.IsInfinity(mx) || double.IsNaN(mx)) { py[j] = m.M; break; }
                        var e = new ExpSumAcc<T>(mx); Walk(b, rs, rst, ref e);
                        py[j] = T.CreateTruncating(mx + Math.Log(e.S));
                        break;
                    }
                    case ReduceOp.ArgMax: { var a = new ArgAcc<T>(true); Walk(b, rs, rst, ref a); pi[j] = (int)a.I; break; }
                    case ReduceOp.ArgMin: { var a = new ArgAcc<T>(false); Walk(b, rs, rst, ref a); pi[j] = (int)a.I; break; }
                    default: throw new UnsupportedOpException(op.ToString(), "cpu reduce");
                }
                for (int d = ks.Length - 1; d >= 0; d--) { if (++idx[d] < ks[d]) break; idx[d] = 0; }
            }
        });
    }

    /// <summary>Feeds every element of the reduced sub-space (row-major order) to acc as runs.</summary>
    private static void Walk<T, A>(T* b, int[] rs, long[] rst, ref A acc) where T : unmanaged where A : struct, IAcc<T>
    {
        int r = rs.Length;
        long total = 1; foreach (int d in rs) total *= d;
        if (total == 0) return;
        int inner = rs[^1];
        long rows = total / inner;
        Span<long> idx = stackalloc long[r];
        for (long row = 0; row < rows; row++)
        {
            long off = 0;
            for (int d = 0; d < r - 1; d++) off += idx[d] * rst[d];
            acc.Run(b + off, inner, rst[^1]);
            for (int d = r - 2; d >= 0; d--) { if (++idx[d] < rs[d]) break; idx[d] = 0; }
        }
    }

    private struct SumAcc<T> : IAcc<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double S;
        public void Run(T* p, int n, long stride)
        {
            if (stride == 1 && typeof(T) == typeof(double)) { S += TensorPrimitives.Sum(new ReadOnlySpan<double>(p, n)); return; }
            double s = 0;
            for (int i = 0; i < n; i++) s += double.CreateTruncating(p[i * stride]);
            S += s;
        }
    }

    private struct SqDevAcc<T>(double mean) : IAcc<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double S;
        public void Run(T* p, int n, long stride)
        {
            for (int i = 0; i < n; i++) { double d = double.CreateTruncating(p[i * stride]) - mean; S += d * d; }
        }
    }

    private struct ExpSumAcc<T>(double max) : IAcc<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public double S;
        public void Run(T* p, int n, long stride)
        {
            for (int i = 0; i < n; i++) S += Math.Exp(double.CreateTruncating(p[i * stride]) - max);
        }
    }

    private struct MaxAcc<T>(bool max) : IAcc<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T M = max ? T.NegativeInfinity : T.PositiveInfinity;
        public void Run(T* p, int n, long stride)
        {
            for (int i = 0; i < n; i++)
            {
                T v = p[i * stride];
                if (T.IsNaN(v)) { M = v; return; } // NaN propagates, as in PyTorch
                if (max ? v > M : v < M) M = v;
            }
        }
    }

    private struct ArgAcc<T>(bool max) : IAcc<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public T M = max ? T.NegativeInfinity : T.PositiveInfinity;
        public long I = 0;
        private long _seen = 0;
        private bool _nan = false;
        public void Run(T* p, int n, long stride)
        {
            for (int i = 0; i < n; i++, _seen++)
            {
                if (_nan) continue;
                T v = p[i * stride];
                if (T.IsNaN(v)) { _nan = true; I = _seen; continue; }
                if (_seen == 0 || (max ? v > M : v < M)) { M = v; I = _seen; }
            }
        }
    }
}
