// CUDA reductions (kernels-cu/reduce.cu). The view is seen as rows x inner: rows = the kept dims
// (one output each), inner = the reduced dims (in the order of `axes` for ArgMax/ArgMin, whose
// index counts row-major over them as the CPU's does), both described by Geoms over the original
// strides, so no permuted copy is made. One kernel pass per accumulation; Var and LogSumExp take
// two (mean / max into a per-row double buffer first, as the CPU does). When there are too few
// rows to fill the GPU, each row's inner range is split over gridDim.y blocks whose partial states
// a finishing kernel merges. Accumulation is in double for f32 and f64 alike (as on the CPU).
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend
{
    // Accumulation kinds and finishing modes: RK_* / RF_* in reduce.cu.
    private const int RkSum = 0, RkMax = 1, RkMin = 2, RkSqDev = 3, RkExpSum = 4, RkArgMax = 5, RkArgMin = 6;
    private const int RfSum = 0, RfMean = 1, RfValue = 2, RfCenterMean = 3, RfCenterValue = 4, RfVar = 5, RfLse = 6, RfArg = 7;

    /// <summary>Threads per reduction block (RBLOCK in reduce.cu).</summary>
    private const int ReduceBlock = 256;

    /// <summary>Launch shape of one reduction: lanes per row, lane order, row-group grid and inner splits.</summary>
    private readonly record struct ReducePlan(int Lanes, bool RowLanes, uint GridX, int Splits, int FinishLanes, uint FinishGridX);

    public void Reduce(ReduceOp op, Buf x, int[] axes, Buf y, int correction)
    {
        string name = op.ToString();
        if (!Enum.IsDefined(op)) throw new UnsupportedOpException(name, $"{Device} reduce on {Desc(x)}");
        if (!x.DType.IsFloat()) throw new DTypeMismatchException(name, $"{Device} reduce on {Desc(x)}");
        bool arg = op is ReduceOp.ArgMax or ReduceOp.ArgMin;
        var ydt = arg ? DType.I32 : x.DType;
        if (y.DType != ydt) throw new DTypeMismatchException(name, $"output {Desc(y)} for input {Desc(x)} on {Device} (expected {ydt.Name()})");

        var L = x.Layout;
        int rank = L.Rank;
        var reduced = new bool[rank];
        foreach (int a in axes)
        {
            if (a < 0 || a >= rank) throw new DimOutOfRangeException(name, $"axis {a} of {Desc(x)} on {Device}");
            if (reduced[a]) throw new InvalidArgumentException(name, $"repeated axis {a} in [{string.Join(", ", axes)}] for {Desc(x)}");
            reduced[a] = true;
        }
        bool yOk = y.Layout.Rank == rank;
        for (int i = 0; yOk && i < rank; i++) yOk = y.Shape[i] == (reduced[i] ? 1 : L.Shape[i]);
        if (!yOk) throw new ShapeMismatchException(name, $"output {Desc(y)} is not the keepdim shape of {Desc(x)} over axes [{string.Join(", ", axes)}] on {Device}");

        // Rows: kept dims in order (operand 0 = y, operand 1 = x). Inner: reduced dims in axes order.
        var kept = Enumerable.Range(0, rank).Where(i => !reduced[i]).ToArray();
        int[] ks = kept.Select(i => L.Shape[i]).ToArray();
        var rowY = new Layout(ks, kept.Select(i => y.Layout.Strides[i]).ToArray(), 0);
        var rowX = new Layout(ks, kept.Select(i => L.Strides[i]).ToArray(), 0);
        // Arg ops index the reduced sub-space in axes order; the others are order-free, so their
        // reduced dims go largest stride first (a full reduction of a transposed view then reads
        // memory in order and coalesces).
        int[] order = arg ? axes : axes.OrderByDescending(i => Math.Abs(L.Strides[i])).ToArray();
        int[] rs = order.Select(i => L.Shape[i]).ToArray();
        var innerX = new Layout(rs, order.Select(i => L.Strides[i]).ToArray(), 0);
        long rows = rowX.Numel, inner = innerX.Numel;
        ulong px = Ptr(x, name), pyv = Ptr(y, name);
        if (rows == 0) return;
        var gr = Geom.Build(name, ks, rowY, rowX);
        var gi = Geom.Build(name, rs, innerX);

        // Coalescing hints: are the reduced elements of a row adjacent in memory (unit innermost
        // stride), or are adjacent rows adjacent (a column reduction)?
        bool innerUnit = inner > 1 && InnermostStride(gi) == 1;
        int lastKept = Array.FindLastIndex(kept, i => L.Shape[i] > 1);
        bool rowUnit = rows > 1 && lastKept >= 0 && L.Strides[kept[lastKept]] == 1;
        var plan = PlanReduce(rows, inner, rowLanes: !innerUnit && rowUnit);

        string sfx = Sfx(x.DType);
        ulong py = arg ? 0 : pyv, pyi = arg ? pyv : 0;
        using var part = plan.Splits > 1 ? Scratch(DType.F64, rows * plan.Splits) : null;
        using var partIdx = plan.Splits > 1 && arg ? Scratch(DType.F64, rows * plan.Splits) : null; // long long per partial
        using var center = op is ReduceOp.Var or ReduceOp.LogSumExp ? Scratch(DType.F64, rows) : null;
        ulong pPart = part?.Ptr ?? 0, pPartIdx = partIdx?.Ptr ?? 0, pCenter = center?.Ptr ?? 0;

        void Pass(int kind, int fin)
        {
            Launch($"reduce_{sfx}", new Dim3(plan.GridX, (uint)plan.Splits), new Dim3(ReduceBlock), 0,
                KernelArgs.Begin().Ptr(py).Ptr(pyi).Ptr(pCenter).Ptr(pPart).Ptr(pPartIdx).Ptr(px)
                    .Value(gr).Value(gi).I64(inner).I32(kind).I32(fin).I32(plan.Lanes).I32(plan.RowLanes ? 1 : 0).I32(correction));
            if (plan.Splits > 1)
                Launch($"reduce_finish_{sfx}", new Dim3(plan.FinishGridX), new Dim3(ReduceBlock), 0,
                    KernelArgs.Begin().Ptr(py).Ptr(pyi).Ptr(pCenter).Ptr(pPart).Ptr(pPartIdx)
                        .Value(gr).I64(plan.Splits).I64(inner).I32(kind).I32(fin).I32(plan.FinishLanes).I32(correction));
        }

        switch (op)
        {
            case ReduceOp.Sum: Pass(RkSum, RfSum); break;
            case ReduceOp.Mean: Pass(RkSum, RfMean); break;
            case ReduceOp.Max: Pass(RkMax, RfValue); break;
            case ReduceOp.Min: Pass(RkMin, RfValue); break;
            case ReduceOp.Var: Pass(RkSum, RfCenterMean); Pass(RkSqDev, RfVar); break;
            case ReduceOp.LogSumExp: Pass(RkMax, RfCenterValue); Pass(RkExpSum, RfLse); break;
            case ReduceOp.ArgMax: Pass(RkArgMax, RfArg); break;
            case ReduceOp.ArgMin: Pass(RkArgMin, RfArg); break;
        }
    }

    private ReducePlan PlanReduce(long rows, long inner, bool rowLanes)
    {
        // rowLanes: consecutive threads take consecutive rows, the rest of the block splits the inner
        // range; otherwise a row gets up to a whole block of consecutive lanes.
        int lanes = rowLanes
            ? ReduceBlock / (int)Math.Min(ReduceBlock, CeilPow2(rows))
            : (int)Math.Min(ReduceBlock, CeilPow2(inner));
        int rowsPerBlock = ReduceBlock / lanes;
        long rowGroups = (rows + rowsPerBlock - 1) / rowsPerBlock;
        long sms = Math.Max(1, Runtime.MultiprocessorCount);
        long fill = sms * 8; // blocks of 256 threads that keep every SM fully occupied
        long splits = 1;
        if (rowGroups < fill)
        {
            const long minPerThread = 32;
            long byWork = inner / (lanes * minPerThread);
            splits = Math.Clamp(Math.Min((fill + rowGroups - 1) / rowGroups, byWork), 1, 65535);
        }
        uint gridX = (uint)Math.Clamp(rowGroups, 1, sms * 32);
        int finishLanes = (int)Math.Min(ReduceBlock, CeilPow2(splits));
        long finishGroups = (rows + ReduceBlock / finishLanes - 1) / (ReduceBlock / finishLanes);
        uint finishGridX = (uint)Math.Clamp(finishGroups, 1, sms * 32);
        return new ReducePlan(lanes, rowLanes, gridX, (int)splits, finishLanes, finishGridX);
    }

    private static long InnermostStride(Geom g) => g.Strides[g.Rank - 1];

    private static long CeilPow2(long n)
    {
        long p = 1;
        while (p < n) p <<= 1;
        return p;
    }
}
