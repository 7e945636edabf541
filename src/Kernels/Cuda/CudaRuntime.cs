// GpuRuntime over the CUDA driver API: the device's primary context, one non-blocking stream that
// every op, copy, cuBLAS and cuDNN call of the backend is queued on, and the kernel library's
// modules loaded on first use of one of their kernels.
using System.Runtime.InteropServices;
using Engine.Cuda.Native;
using static Engine.Cuda.Native.CuDriver;

namespace Engine.Cuda;

public sealed unsafe class CudaRuntime : GpuRuntime
{
    private readonly int _device;
    private readonly IntPtr _ctx, _stream;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IntPtr> _modules = new(), _functions = new();
    private bool _disposed;
    [ThreadStatic] private static IntPtr _currentCtx;

    public override string Name { get; }
    public override int Ordinal { get; }
    public override int MultiprocessorCount { get; }
    public override int MaxThreadsPerBlock { get; }
    public override long TotalMemory { get; }
    public (int Major, int Minor) ComputeCapability { get; }
    /// <summary>NVRTC target the kernels are compiled for (sm_XY, or compute_XY when NVRTC is older than the GPU).</summary>
    public string KernelTarget { get; }
    public override IntPtr Stream => _stream;

    private CudaRuntime(int ordinal)
    {
        NativeResolver.Install();
        Ordinal = ordinal;
        Check(cuInit(0), "cuInit", "cuda init");
        Check(cuDeviceGetCount(out int n), "cuDeviceGetCount", "cuda init");
        if (ordinal < 0 || ordinal >= n)
            throw new InvalidArgumentException("cuda init", $"device cuda:{ordinal} requested, {n} CUDA device(s) present");
        Check(cuDeviceGet(out _device, ordinal), "cuDeviceGet", "cuda init");
        var name = stackalloc byte[256];
        Check(cuDeviceGetName(name, 256, _device), "cuDeviceGetName", "cuda init");
        Name = Marshal.PtrToStringUTF8((IntPtr)name)!;
        MultiprocessorCount = Attr(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
        MaxThreadsPerBlock = Attr(CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK);
        ComputeCapability = (Attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR), Attr(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
        Check(cuDeviceTotalMem(out nuint total, _device), "cuDeviceTotalMem", "cuda init");
        TotalMemory = (long)total;
        Check(cuDevicePrimaryCtxRetain(out _ctx, _device), "cuDevicePrimaryCtxRetain", "cuda init");
        Enter();
        Check(cuStreamCreate(out _stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate", "cuda init");
        KernelTarget = KernelLibrary.TargetFor(ComputeCapability.Major, ComputeCapability.Minor, Nvrtc.SupportedArchs());
    }

    /// <summary>Opens device <paramref name="ordinal"/>; throws CudaException / EngineException saying why not.</summary>
    public static CudaRuntime Create(int ordinal) => new(ordinal);

    public int Attr(int attribute)
    {
        Check(cuDeviceGetAttribute(out int v, attribute, _device), "cuDeviceGetAttribute", "cuda device query");
        return v;
    }

    /// <summary>Makes this device's context current on the calling thread (a no-op when it already is).</summary>
    private void Enter()
    {
        if (_disposed) throw new ObjectDisposedException(nameof(CudaRuntime), $"cuda:{Ordinal} runtime was disposed");
        if (_currentCtx == _ctx) return;
        Check(cuCtxSetCurrent(_ctx), "cuCtxSetCurrent", $"cuda:{Ordinal}");
        _currentCtx = _ctx;
    }

    public override ulong TryMemAlloc(long bytes)
    {
        Enter();
        int r = cuMemAlloc(out ulong p, (nuint)bytes);
        if (r == CUDA_ERROR_OUT_OF_MEMORY) return 0;
        Check(r, "cuMemAlloc", $"allocate {bytes} bytes on cuda:{Ordinal}");
        return p;
    }

    public override void MemFree(ulong ptr)
    {
        Enter();
        Check(cuMemFree(ptr), "cuMemFree", $"free on cuda:{Ordinal}");
    }

    public override void CopyHtoD(ulong dst, void* src, long bytes)
    {
        Enter();
        Check(cuMemcpyHtoDAsync(dst, src, (nuint)bytes, _stream), "cuMemcpyHtoDAsync", "upload");
        Check(cuStreamSynchronize(_stream), "cuStreamSynchronize", "upload");
    }

    public override void CopyDtoH(void* dst, ulong src, long bytes)
    {
        Enter();
        Check(cuMemcpyDtoHAsync(dst, src, (nuint)bytes, _stream), "cuMemcpyDtoHAsync", "download");
        Check(cuStreamSynchronize(_stream), "cuStreamSynchronize", "download");
    }

    public override void CopyDtoD(ulong dst, ulong src, long bytes)
    {
        Enter();
        Check(cuMemcpyDtoDAsync(dst, src, (nuint)bytes, _stream), "cuMemcpyDtoDAsync", "device copy");
    }

    public override void MemsetD8(ulong dst, byte value, long bytes)
    {
        Enter();
        Check(cuMemsetD8Async(dst, value, (nuint)bytes, _stream), "cuMemsetD8Async", "memset");
    }

    public override void MemsetD32(ulong dst, uint value, long count)
    {
        Enter();
        Check(cuMemsetD32Async(dst, value, (nuint)count, _stream), "cuMemsetD32Async", "memset");
    }

    /// <summary>The CUfunction of a kernels-cu kernel, compiling and loading its file on first use.</summary>
    public IntPtr Function(string kernel)
    {
        lock (_gate)
        {
            if (_functions.TryGetValue(kernel, out var f)) return f;
            Enter();
            if (!KernelLibrary.KernelFiles.TryGetValue(kernel, out var file))
                throw new UnsupportedOpException(kernel, "no kernels-cu file defines this kernel");
            if (!_modules.TryGetValue(file, out var module))
            {
                var image = KernelLibrary.Image(file, KernelTarget, out _);
                fixed (byte* p = image) Check(cuModuleLoadData(out module, p), "cuModuleLoadData", $"load {file} ({KernelTarget})");
                _modules[file] = module;
            }
            Check(cuModuleGetFunction(out f, module, kernel), "cuModuleGetFunction", $"kernel {kernel} in {file}");
            _functions[kernel] = f;
            return f;
        }
    }

    public override void Launch(string kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args)
    {
        var f = Function(kernel);
        Enter();
        Check(cuLaunchKernel(f, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)sharedBytes, _stream, args.Pointers, null),
            "cuLaunchKernel", $"{kernel} grid {grid} block {block}");
    }

    /// <summary>Largest block size for full occupancy of a kernel (cuOccupancyMaxPotentialBlockSize).</summary>
    public (int minGrid, int block) OccupancyBlockSize(string kernel, int dynamicShared = 0, int limit = 0)
    {
        var f = Function(kernel);
        Check(cuOccupancyMaxPotentialBlockSize(out int g, out int b, f, IntPtr.Zero, (nuint)dynamicShared, limit), "cuOccupancyMaxPotentialBlockSize", kernel);
        return (g, b);
    }

    public int ActiveBlocksPerSm(string kernel, int blockSize, int dynamicShared = 0)
    {
        var f = Function(kernel);
        Check(cuOccupancyMaxActiveBlocksPerMultiprocessor(out int n, f, blockSize, (nuint)dynamicShared), "cuOccupancyMaxActiveBlocksPerMultiprocessor", kernel);
        return n;
    }

    public override void Synchronize()
    {
        Enter();
        Check(cuStreamSynchronize(_stream), "cuStreamSynchronize", $"cuda:{Ordinal} synchronize");
    }

    public (long free, long total) MemoryInfo()
    {
        Enter();
        Check(cuMemGetInfo(out nuint f, out nuint t), "cuMemGetInfo", "memory info");
        return ((long)f, (long)t);
    }

    /// <summary>Times work queued on the stream with a pair of CUDA events (milliseconds of GPU time).</summary>
    public float TimeMs(Action work)
    {
        Enter();
        Check(cuEventCreate(out IntPtr a, CU_EVENT_DEFAULT), "cuEventCreate", "timing");
        Check(cuEventCreate(out IntPtr b, CU_EVENT_DEFAULT), "cuEventCreate", "timing");
        try
        {
            Check(cuEventRecord(a, _stream), "cuEventRecord", "timing");
            work();
            Check(cuEventRecord(b, _stream), "cuEventRecord", "timing");
            Check(cuEventSynchronize(b), "cuEventSynchronize", "timing");
            Check(cuEventElapsedTime(out float ms, a, b), "cuEventElapsedTime", "timing");
            return ms;
        }
        finally { cuEventDestroy(a); cuEventDestroy(b); }
    }

    /// <summary>Page-locked host memory (fast, truly asynchronous copies); free with FreePinned.</summary>
    public IntPtr AllocPinned(long bytes)
    {
        Enter();
        Check(cuMemAllocHost(out IntPtr p, (nuint)bytes), "cuMemAllocHost", $"pinned {bytes} bytes");
        return p;
    }

    public void FreePinned(IntPtr p)
    {
        Enter();
        Check(cuMemFreeHost(p), "cuMemFreeHost", "pinned free");
    }

    public override void Dispose()
    {
        if (_disposed) return;
        lock (_gate)
        {
            try
            {
                Enter();
                cuStreamSynchronize(_stream);
                foreach (var m in _modules.Values) cuModuleUnload(m);
                cuStreamDestroy(_stream);
                cuDevicePrimaryCtxRelease(_device);
            }
            finally { _disposed = true; _modules.Clear(); _functions.Clear(); }
        }
        base.Dispose();
    }
}
