// The CUDA backend: storage from the caching allocator, copies through the runtime, and the op
// families in CudaBackend.*.cs (hand-written kernels from kernels-cu launched by name; matmul on
// cuBLAS and convolutions on cuDNN in CudaBackend.Linalg.cs). Everything is queued on the runtime's
// one stream, in order, so a block freed by the allocator can be handed to the next op at once.
namespace Engine.Cuda;

public sealed unsafe partial class CudaBackend : IBackend
{
    public GpuRuntime Runtime { get; }
    public CachingAllocator Allocator { get; }
    public Device Device { get; }

    /// <summary>Threads per block of the grid-stride kernels.</summary>
    internal const int BlockSize = 256;

    public CudaBackend(GpuRuntime runtime, Device device)
    {
        Runtime = runtime;
        Device = device;
        Allocator = new CachingAllocator(new RuntimeMemory(runtime), device.ToString());
    }

    private sealed class RuntimeMemory(GpuRuntime rt) : IDeviceMemory
    {
        public ulong TryAlloc(long bytes) => rt.TryMemAlloc(bytes);
        public void Free(ulong ptr) => rt.MemFree(ptr);
        public long TotalBytes => rt.TotalMemory;
    }

    public Storage Allocate(DType dtype, long length, bool zero)
    {
        var s = new CudaStorage(this, dtype, length);
        if (zero && s.Bytes > 0) Runtime.MemsetD8(s.Ptr, 0, s.Bytes);
        return s;
    }

    // ------------------------------------------------------------------ helpers for the op families
    internal CudaStorage S(Buf b, string op) => b.Storage as CudaStorage is { } s && s.Backend == this ? s
        : throw new DeviceMismatchException(op, $"buffer on {b.Storage.Device} given to the {Device} backend");

    /// <summary>Device address of the view's first element.</summary>
    internal ulong Ptr(Buf b, string op = "cuda") => S(b, op).Ptr + (ulong)(b.Layout.Offset * b.DType.Size());

    /// <summary>Kernel-name suffix of a dtype: f32, f64, i32.</summary>
    internal static string Sfx(DType d) => d.Name();

    /// <summary>Grid for a grid-stride loop over n items.</summary>
    internal Dim3 GridFor(long n, int block = BlockSize)
    {
        long blocks = (n + block - 1) / block;
        long cap = (long)Runtime.MultiprocessorCount * 32;
        return new Dim3((uint)Math.Max(1, Math.Min(blocks, cap)));
    }

    /// <summary>Launches a grid-stride kernel over n items (nothing is launched when n is 0).</summary>
    internal void Launch1D(string kernel, long n, KernelArgs args)
    {
        if (n <= 0) return;
        Runtime.Launch(kernel, GridFor(n), new Dim3(BlockSize), 0, args);
    }

    internal void Launch(string kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args)
        => Runtime.Launch(kernel, grid, block, sharedBytes, args);

    /// <summary>A scratch buffer from the allocator, returned when disposed.</summary>
    internal CudaStorage Scratch(DType dtype, long length) => new(this, dtype, length);

    // ------------------------------------------------------------------ host transfers
    public void Upload<T>(ReadOnlySpan<T> src, Storage dst, long dstOffset) where T : unmanaged
    {
        var cs = dst as CudaStorage ?? throw new DeviceMismatchException("upload", $"storage on {dst.Device} given to the {Device} backend");
        if (sizeof(T) != dst.DType.Size()) throw new DTypeMismatchException("upload", $"{typeof(T).Name} into {dst.DType.Name()} storage");
        if (dstOffset < 0 || dstOffset + src.Length > dst.Length)
            throw new ArgumentOutOfRangeException(nameof(dstOffset), $"upload of {src.Length} at {dstOffset} outside storage of {dst.Length}");
        if (src.Length == 0) return;
        fixed (T* p = src) Runtime.CopyHtoD(cs.Ptr + (ulong)(dstOffset * sizeof(T)), p, (long)src.Length * sizeof(T));
    }

    public void Download<T>(Buf src, Span<T> dst) where T : unmanaged
    {
        if (sizeof(T) != src.DType.Size()) throw new DTypeMismatchException("download", $"{src.DType.Name()} into {typeof(T).Name}");
        if (dst.Length != src.Numel) throw new ShapeMismatchException("download", $"{src.Numel} elements into a span of {dst.Length}");
        if (src.Numel == 0) return;
        if (src.Layout.IsContiguous)
        {
            fixed (T* p = dst) Runtime.CopyDtoH(p, Ptr(src, "download"), src.Numel * sizeof(T));
            return;
        }
        using var tmp = Scratch(src.DType, src.Numel);
        Copy(src, new Buf(tmp, Layout.Contiguous(src.Shape)));
        fixed (T* p = dst) Runtime.CopyDtoH(p, tmp.Ptr, src.Numel * sizeof(T));
    }
}

/// <summary>Device memory owned by one CUDA backend; the block goes back to the caching allocator on release.</summary>
public sealed class CudaStorage : Storage, IDisposable
{
    private readonly CachingAllocator.Block _block;
    public ulong Ptr => _block.Ptr;

    internal CudaStorage(CudaBackend backend, DType dtype, long length) : base(backend, dtype, length)
    {
        _block = backend.Allocator.Allocate(Math.Max(length, 1) * dtype.Size());
    }

    internal CachingAllocator Allocator => ((CudaBackend)Backend).Allocator;

    protected override void Free() => Allocator.Free(_block);

    /// <summary>For scratch storages held by backend code: releases the reference taken at creation.</summary>
    public void Dispose() => Release();
}
