// The seam between the CUDA backend and a GPU: raw device memory, copies, memsets and kernel
// launches by name on one ordered stream. CudaRuntime (Cuda/CudaRuntime.cs) implements it over the
// driver API with NVRTC-compiled kernels; everything above it (allocator, backend, ops) only sees
// this class. Device pointers are ulong (CUdeviceptr).
namespace Engine.Cuda;

public readonly record struct Dim3(uint X, uint Y = 1, uint Z = 1)
{
    public override string ToString() => $"({X}, {Y}, {Z})";
}

public abstract unsafe class GpuRuntime : IDisposable
{
    /// <summary>Human-readable device name ("NVIDIA H100 80GB HBM3").</summary>
    public abstract string Name { get; }
    public abstract int Ordinal { get; }
    public abstract int MultiprocessorCount { get; }
    public abstract int MaxThreadsPerBlock { get; }
    public abstract long TotalMemory { get; }

    /// <summary>Raw allocation; returns 0 when the device is out of memory (the caller reports it).</summary>
    public abstract ulong TryMemAlloc(long bytes);
    public abstract void MemFree(ulong ptr);

    /// <summary>Copies ordered on the runtime's stream; host copies return when the data has landed.</summary>
    public abstract void CopyHtoD(ulong dst, void* src, long bytes);
    public abstract void CopyDtoH(void* dst, ulong src, long bytes);
    public abstract void CopyDtoD(ulong dst, ulong src, long bytes);
    public abstract void MemsetD8(ulong dst, byte value, long bytes);
    public abstract void MemsetD32(ulong dst, uint value, long count);

    /// <summary>Launches kernel <paramref name="kernel"/> (an extern "C" name from kernels-cu) on the stream.</summary>
    public abstract void Launch(string kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args);

    /// <summary>Waits until all work queued on the stream has finished (and surfaces its errors).</summary>
    public abstract void Synchronize();

    /// <summary>The CUstream handle (for cuBLAS/cuDNN), 0 when the runtime has none.</summary>
    public abstract IntPtr Stream { get; }

    public virtual void Dispose() => GC.SuppressFinalize(this);
}
