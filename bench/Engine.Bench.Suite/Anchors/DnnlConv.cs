// oneDNN 2-D convolution primitives for one geometry: forward, and for training also backward-data
// and backward-weights (created with the forward-training descriptor as hint). With
// DnnlLayout.Preferred every tensor of a primitive is declared with format tag "any", so oneDNN
// picks its preferred (blocked) layouts; DnnlLayout.Plain pins NCHW / OIHW. Inputs are reordered
// from our NCHW buffers into each primitive's own memory, and outputs back to NCHW, outside any
// timed region: Forward/BackwardData/BackwardWeights execute the primitive alone. Outputs are
// overwritten. Groups and dilation other than 1 are not wired (the benchmark does not use them).
using System.Runtime.InteropServices;
using Engine.Cpu.Kernels;

namespace Engine.Bench.Anchors;

public enum DnnlLayout
{
    /// <summary>Format tag "any": oneDNN chooses (typically blocked nChw16c / OIhw16i16o).</summary>
    Preferred,
    /// <summary>Plain NCHW activations and OIHW weights.</summary>
    Plain,
}

public sealed unsafe class DnnlConv : IDisposable
{
    private readonly Dnnl _d;
    private readonly int _threads;
    private readonly List<IntPtr> _native = [];
    private readonly List<IntPtr> _pds = [], _prims = [], _mems = [];
    private readonly Prim _fwd;
    private readonly Prim? _bwdData, _bwdWeights;
    private readonly void* _srcUser, _wUser, _bUser, _dstUser;

    public Conv2dGeometry Geometry { get; }
    public DnnlLayout Layout { get; }
    /// <summary>Implementation names oneDNN picked, e.g. "brg:avx512_core", "jit:avx512_core", "gemm:jit".</summary>
    public string ForwardImpl => _fwd.Impl;
    public string? BackwardDataImpl => _bwdData?.Impl;
    public string? BackwardWeightsImpl => _bwdWeights?.Impl;

    private sealed class Prim
    {
        public IntPtr Pd, Handle;
        public string Impl = "";
        public readonly List<(int Arg, IntPtr Mem, IntPtr Md)> Args = [];
        public (IntPtr Mem, IntPtr Md) this[int arg] { get { var a = Args.First(x => x.Arg == arg); return (a.Mem, a.Md); } }
    }

    /// <summary>
    /// Creates the primitives with oneDNN's OpenMP thread count set to threads (its work split is
    /// decided here). training: also backward-data and backward-weights, forward as forward_training.
    /// </summary>
    public DnnlConv(Dnnl d, Conv2dGeometry g, DnnlLayout layout, bool training, int threads)
    {
        if (g.Groups != 1 || g.DilationH != 1 || g.DilationW != 1)
            throw new ArgumentException($"DnnlConv: only groups = 1 and dilation = 1 are wired, got groups {g.Groups}, dilation {g.DilationH}x{g.DilationW}");
        _d = d; _threads = threads; Geometry = g; Layout = layout;
        try
        {
            d.Threads = threads;
            _srcUser = Md([g.N, g.Cin, g.H, g.W], Dnnl.TagNchw);
            _wUser = Md([g.Cout, g.Cin, g.KH, g.KW], Dnnl.TagOihw);
            _bUser = Md([g.Cout], Dnnl.TagX);
            _dstUser = Md([g.N, g.Cout, g.OH, g.OW], Dnnl.TagNchw);
            void* src = layout == DnnlLayout.Plain ? _srcUser : Md([g.N, g.Cin, g.H, g.W], Dnnl.TagAny);
            void* w = layout == DnnlLayout.Plain ? _wUser : Md([g.Cout, g.Cin, g.KH, g.KW], Dnnl.TagAny);
            void* dst = layout == DnnlLayout.Plain ? _dstUser : Md([g.N, g.Cout, g.OH, g.OW], Dnnl.TagAny);
            void* noBias = Alloc(Dnnl.MemoryDescBytes); // zeroed: ndims 0 = no bias
            long* strides = stackalloc long[12], padL = stackalloc long[12], padR = stackalloc long[12];
            strides[0] = g.StrideH; strides[1] = g.StrideW;
            padL[0] = g.PadH; padL[1] = g.PadW;
            // Right padding that makes oneDNN's output size equal ours: (H - 1 + pl + pr - (KH - 1)) / s + 1 = OH.
            padR[0] = (g.OH - 1) * g.StrideH + g.KH - g.H - g.PadH;
            padR[1] = (g.OW - 1) * g.StrideW + g.KW - g.W - g.PadW;

            void* cd = Alloc(Dnnl.OpDescBytes);
            d.Check(d.convolution_forward_desc_init(cd, training ? Dnnl.ForwardTraining : Dnnl.ForwardInference, Dnnl.ConvolutionDirect,
                src, w, _bUser, dst, strides, padL, padR), "dnnl_convolution_forward_desc_init");
            _fwd = Make(cd, IntPtr.Zero, "forward",
                (Dnnl.ArgSrc, Dnnl.QuerySrcMd, 0), (Dnnl.ArgWeights, Dnnl.QueryWeightsMd, 0), (Dnnl.ArgBias, Dnnl.QueryWeightsMd, 1), (Dnnl.ArgDst, Dnnl.QueryDstMd, 0));
            if (!training) return;

            cd = Alloc(Dnnl.OpDescBytes);
            d.Check(d.convolution_backward_data_desc_init(cd, Dnnl.ConvolutionDirect, src, w, dst, strides, padL, padR), "dnnl_convolution_backward_data_desc_init");
            _bwdData = Make(cd, _fwd.Pd, "backward data",
                (Dnnl.ArgDiffSrc, Dnnl.QueryDiffSrcMd, 0), (Dnnl.ArgWeights, Dnnl.QueryWeightsMd, 0), (Dnnl.ArgDiffDst, Dnnl.QueryDiffDstMd, 0));

            cd = Alloc(Dnnl.OpDescBytes);
            d.Check(d.convolution_backward_weights_desc_init(cd, Dnnl.ConvolutionDirect, src, w, noBias, dst, strides, padL, padR), "dnnl_convolution_backward_weights_desc_init");
            _bwdWeights = Make(cd, _fwd.Pd, "backward weights",
                (Dnnl.ArgSrc, Dnnl.QuerySrcMd, 0), (Dnnl.ArgDiffWeights, Dnnl.QueryDiffWeightsMd, 0), (Dnnl.ArgDiffDst, Dnnl.QueryDiffDstMd, 0));
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>Copies NCHW / OIHW inputs into the primitives' memories (reorders; not timed). b and gy may be null when unused.</summary>
    public void SetInputs(float* x, float* w, float* b, float* gy)
    {
        _d.Threads = _threads;
        Reorder(_srcUser, x, _fwd[Dnnl.ArgSrc], toUser: false);
        Reorder(_wUser, w, _fwd[Dnnl.ArgWeights], toUser: false);
        if (b != null) Reorder(_bUser, b, _fwd[Dnnl.ArgBias], toUser: false);
        else ZeroBias();
        if (_bwdData is not null && _bwdWeights is not null)
        {
            if (gy == null) throw new ArgumentNullException(nameof(gy), "DnnlConv.SetInputs: training primitives need gy");
            Reorder(_wUser, w, _bwdData[Dnnl.ArgWeights], toUser: false);
            Reorder(_dstUser, gy, _bwdData[Dnnl.ArgDiffDst], toUser: false);
            Reorder(_srcUser, x, _bwdWeights[Dnnl.ArgSrc], toUser: false);
            Reorder(_dstUser, gy, _bwdWeights[Dnnl.ArgDiffDst], toUser: false);
        }
    }

    public void Forward() => Execute(_fwd);
    public void BackwardData() => Execute(_bwdData ?? throw new InvalidOperationException("DnnlConv: created without training primitives"));
    public void BackwardWeights() => Execute(_bwdWeights ?? throw new InvalidOperationException("DnnlConv: created without training primitives"));

    /// <summary>Output of the last Forward as NCHW.</summary>
    public void ReadY(float* y) => Reorder(_dstUser, y, _fwd[Dnnl.ArgDst], toUser: true);
    public void ReadGx(float* gx) => Reorder(_srcUser, gx, (_bwdData ?? throw new InvalidOperationException("no backward data"))[Dnnl.ArgDiffSrc], toUser: true);
    public void ReadGw(float* gw) => Reorder(_wUser, gw, (_bwdWeights ?? throw new InvalidOperationException("no backward weights"))[Dnnl.ArgDiffWeights], toUser: true);

    private void Execute(Prim p)
    {
        // The OpenMP ICV belongs to the calling thread: set it on every call (cheap) so a caller on
        // another thread (BenchmarkDotNet) still runs with the intended count.
        _d.Threads = _threads;
        var args = stackalloc Dnnl.ExecArg[p.Args.Count];
        for (int i = 0; i < p.Args.Count; i++) args[i] = new Dnnl.ExecArg { Arg = p.Args[i].Arg, Memory = p.Args[i].Mem };
        _d.Check(_d.primitive_execute(p.Handle, _d.Stream, p.Args.Count, args), "dnnl_primitive_execute");
        _d.Wait();
    }

    private Prim Make(void* opDesc, IntPtr hint, string what, params (int Arg, int Query, int Index)[] args)
    {
        var p = new Prim();
        IntPtr pd;
        int st = _d.primitive_desc_create(&pd, opDesc, IntPtr.Zero, _d.Engine, hint);
        if (st == Dnnl.StatusUnimplemented)
            throw new DnnlException($"dnnl_primitive_desc_create ({what}, {Layout} layout: no implementation)", st, "unimplemented");
        _d.Check(st, $"dnnl_primitive_desc_create ({what})");
        _pds.Add(pd);
        p.Pd = pd;
        IntPtr impl;
        _d.Check(_d.primitive_desc_query(pd, Dnnl.QueryImplInfoStr, 0, &impl), "dnnl_primitive_desc_query(impl_info_str)");
        p.Impl = Marshal.PtrToStringUTF8(impl) ?? "?";
        foreach (var (arg, query, index) in args)
        {
            void* md = _d.primitive_desc_query_md(pd, query, index);
            if (md == null) throw new DnnlException($"dnnl_primitive_desc_query_md({what}, query {query}, index {index})", -1, "no such memory");
            IntPtr mem;
            _d.Check(_d.memory_create(&mem, md, _d.Engine, Dnnl.MemoryAllocate), "dnnl_memory_create");
            _mems.Add(mem);
            p.Args.Add((arg, mem, (IntPtr)md));
        }
        IntPtr prim;
        _d.Check(_d.primitive_create(&prim, pd), $"dnnl_primitive_create ({what})");
        _prims.Add(prim);
        p.Handle = prim;
        return p;
    }

    /// <summary>Reorders between a user buffer (described by userMd) and a primitive memory, either way.</summary>
    private void Reorder(void* userMd, float* user, (IntPtr Mem, IntPtr Md) prim, bool toUser)
    {
        IntPtr userMem = IntPtr.Zero, rpd = IntPtr.Zero, r = IntPtr.Zero;
        try
        {
            _d.Check(_d.memory_create(&userMem, userMd, _d.Engine, (IntPtr)user), "dnnl_memory_create (user)");
            void* from = toUser ? (void*)prim.Md : userMd, to = toUser ? userMd : (void*)prim.Md;
            _d.Check(_d.reorder_primitive_desc_create(&rpd, from, _d.Engine, to, _d.Engine, IntPtr.Zero), "dnnl_reorder_primitive_desc_create");
            _d.Check(_d.primitive_create(&r, rpd), "dnnl_primitive_create (reorder)");
            var args = stackalloc Dnnl.ExecArg[2];
            args[0] = new Dnnl.ExecArg { Arg = Dnnl.ArgFrom, Memory = toUser ? prim.Mem : userMem };
            args[1] = new Dnnl.ExecArg { Arg = Dnnl.ArgTo, Memory = toUser ? userMem : prim.Mem };
            _d.Check(_d.primitive_execute(r, _d.Stream, 2, args), "dnnl_primitive_execute (reorder)");
            _d.Wait();
        }
        finally
        {
            if (r != IntPtr.Zero) _d.primitive_destroy(r);
            if (rpd != IntPtr.Zero) _d.primitive_desc_destroy(rpd);
            if (userMem != IntPtr.Zero) _d.memory_destroy(userMem);
        }
    }

    private void ZeroBias()
    {
        var zeros = new float[Geometry.Cout];
        fixed (float* z = zeros) Reorder(_bUser, z, _fwd[Dnnl.ArgBias], toUser: false);
    }

    private void* Md(long[] dims, int tag)
    {
        void* md = Alloc(Dnnl.MemoryDescBytes);
        fixed (long* p = dims) _d.Check(_d.memory_desc_init_by_tag(md, dims.Length, p, Dnnl.F32, tag), "dnnl_memory_desc_init_by_tag");
        return md;
    }

    private void* Alloc(int bytes)
    {
        void* p = NativeMemory.AllocZeroed((nuint)bytes);
        _native.Add((IntPtr)p);
        return p;
    }

    public void Dispose()
    {
        foreach (var p in _prims) _d.primitive_destroy(p);
        foreach (var m in _mems) _d.memory_destroy(m);
        foreach (var pd in _pds) _d.primitive_desc_destroy(pd);
        foreach (var n in _native) NativeMemory.Free((void*)n);
        _prims.Clear(); _mems.Clear(); _pds.Clear(); _native.Clear();
    }
}
