// CUDA driver API bindings (libcuda.so.1). Only the entry points the backend uses, by their
// versioned export names (the driver keeps exporting these for old binaries, so they are stable
// across CUDA 11, 12 and 13). CUresult 0 = CUDA_SUCCESS; CudaCheck turns the rest into CudaException.
using System.Runtime.InteropServices;

namespace Engine.Cuda.Native;

public static unsafe partial class CuDriver
{
    private const string Lib = "cuda";

    public const int CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 1;
    public const int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK = 8;
    public const int CU_DEVICE_ATTRIBUTE_WARP_SIZE = 10;
    public const int CU_DEVICE_ATTRIBUTE_CLOCK_RATE = 13;
    public const int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    public const int CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE = 36;
    public const int CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH = 37;
    public const int CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE = 38;
    public const int CU_DEVICE_ATTRIBUTE_PCI_BUS_ID = 33;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    public const int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
    public const int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_MULTIPROCESSOR = 81;

    public const uint CU_STREAM_NON_BLOCKING = 1;
    public const uint CU_EVENT_DEFAULT = 0;
    public const uint CU_MEMHOSTALLOC_PORTABLE = 1;
    public const int CU_FUNC_ATTRIBUTE_MAX_THREADS_PER_BLOCK = 0;
    public const int CU_FUNC_ATTRIBUTE_NUM_REGS = 4;

    public const int CUDA_ERROR_OUT_OF_MEMORY = 2;
    public const int CUDA_ERROR_NO_DEVICE = 100;

    [LibraryImport(Lib)] public static partial int cuInit(uint flags);
    [LibraryImport(Lib)] public static partial int cuDriverGetVersion(out int version);
    [LibraryImport(Lib)] public static partial int cuDeviceGetCount(out int count);
    [LibraryImport(Lib)] public static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] public static partial int cuDeviceGetName(byte* name, int len, int device);
    [LibraryImport(Lib)] public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);
    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] public static partial int cuDeviceTotalMem(out nuint bytes, int device);

    [LibraryImport(Lib)] public static partial int cuDevicePrimaryCtxRetain(out IntPtr ctx, int device);
    [LibraryImport(Lib, EntryPoint = "cuDevicePrimaryCtxRelease_v2")] public static partial int cuDevicePrimaryCtxRelease(int device);
    [LibraryImport(Lib)] public static partial int cuCtxSetCurrent(IntPtr ctx);
    [LibraryImport(Lib)] public static partial int cuCtxSynchronize();
    [LibraryImport(Lib, EntryPoint = "cuMemGetInfo_v2")] public static partial int cuMemGetInfo(out nuint free, out nuint total);

    [LibraryImport(Lib)] public static partial int cuStreamCreate(out IntPtr stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] public static partial int cuStreamDestroy(IntPtr stream);
    [LibraryImport(Lib)] public static partial int cuStreamSynchronize(IntPtr stream);

    [LibraryImport(Lib)] public static partial int cuEventCreate(out IntPtr ev, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuEventDestroy_v2")] public static partial int cuEventDestroy(IntPtr ev);
    [LibraryImport(Lib)] public static partial int cuEventRecord(IntPtr ev, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cuEventSynchronize(IntPtr ev);
    [LibraryImport(Lib)] public static partial int cuEventElapsedTime(out float ms, IntPtr start, IntPtr end);

    [LibraryImport(Lib, EntryPoint = "cuMemAlloc_v2")] public static partial int cuMemAlloc(out ulong dptr, nuint bytes);
    [LibraryImport(Lib, EntryPoint = "cuMemFree_v2")] public static partial int cuMemFree(ulong dptr);
    [LibraryImport(Lib, EntryPoint = "cuMemAllocHost_v2")] public static partial int cuMemAllocHost(out IntPtr p, nuint bytes);
    [LibraryImport(Lib)] public static partial int cuMemFreeHost(IntPtr p);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] public static partial int cuMemcpyHtoDAsync(ulong dst, void* src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] public static partial int cuMemcpyDtoHAsync(void* dst, ulong src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoDAsync_v2")] public static partial int cuMemcpyDtoDAsync(ulong dst, ulong src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cuMemsetD8Async(ulong dst, byte value, nuint count, IntPtr stream);
    [LibraryImport(Lib)] public static partial int cuMemsetD32Async(ulong dst, uint value, nuint count, IntPtr stream);

    [LibraryImport(Lib)] public static partial int cuModuleLoadData(out IntPtr module, void* image);
    [LibraryImport(Lib)] public static partial int cuModuleUnload(IntPtr module);
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)] public static partial int cuModuleGetFunction(out IntPtr function, IntPtr module, string name);
    [LibraryImport(Lib)] public static partial int cuFuncGetAttribute(out int value, int attribute, IntPtr function);
    [LibraryImport(Lib)] public static partial int cuLaunchKernel(IntPtr f, uint gx, uint gy, uint gz, uint bx, uint by, uint bz,
        uint sharedBytes, IntPtr stream, IntPtr* kernelParams, IntPtr* extra);
    [LibraryImport(Lib)] public static partial int cuOccupancyMaxActiveBlocksPerMultiprocessor(out int blocks, IntPtr f, int blockSize, nuint dynamicShared);
    [LibraryImport(Lib)] public static partial int cuOccupancyMaxPotentialBlockSize(out int minGridSize, out int blockSize, IntPtr f,
        IntPtr blockSizeToDynamicSMemSize, nuint dynamicShared, int blockSizeLimit);

    [LibraryImport(Lib)] public static partial int cuGetErrorName(int error, out byte* name);
    [LibraryImport(Lib)] public static partial int cuGetErrorString(int error, out byte* text);

    /// <summary>"CUDA_ERROR_OUT_OF_MEMORY (out of memory)" for a CUresult.</summary>
    public static string Describe(int r)
    {
        try
        {
            string name = cuGetErrorName(r, out var n) == 0 && n != null ? Marshal.PtrToStringUTF8((IntPtr)n)! : $"CUresult {r}";
            string text = cuGetErrorString(r, out var t) == 0 && t != null ? Marshal.PtrToStringUTF8((IntPtr)t)! : "";
            return text.Length > 0 ? $"{name} ({text})" : name;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return $"CUresult {r}"; }
    }

    /// <summary>Throws CudaException naming the call, the status and the op when r is not CUDA_SUCCESS.</summary>
    public static void Check(int r, string call, string op)
    {
        if (r != 0) throw new CudaException("driver", call, r, Describe(r), op);
    }
}
