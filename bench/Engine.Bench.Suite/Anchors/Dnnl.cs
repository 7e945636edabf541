// oneDNN anchor for the convolution benchmark: the C API of Debian's libdnnl2 (oneDNN 2.6, OpenMP
// runtime through libgomp), resolved with NativeLibrary.GetExport into unmanaged function pointers.
// Descriptor structs (dnnl_memory_desc_t: 696 bytes, dnnl_convolution_desc_t: 5976 bytes in 2.6)
// are treated as opaque: they live in zeroed native buffers larger than that and are only passed
// by pointer. Enum and argument values below are those of the 2.6 headers (dnnl_types.h).
// One engine and one in-order stream per Dnnl object; the library handle lives for the process.
using System.Runtime.InteropServices;

namespace Engine.Bench.Anchors;

/// <summary>A oneDNN call that failed, with the function and status.</summary>
public sealed class DnnlException(string api, int status, string statusName)
    : Exception($"{api} failed: {statusName} ({status})")
{
    public string Api { get; } = api;
    public int Status { get; } = status;
}

public sealed unsafe class Dnnl : IDisposable
{
    // dnnl_types.h (2.6)
    internal const int EngineCpu = 1;
    internal const int ForwardTraining = 64, ForwardInference = 96, BackwardData = 160, BackwardWeights = 192;
    internal const int ConvolutionDirect = 1;
    internal const int F32 = 3;
    internal const int TagAny = 1, TagNchw = 5, TagOihw = 5, TagX = 2;
    internal const int ArgSrc = 1, ArgDst = 17, ArgWeights = 33, ArgBias = 41, ArgDiffSrc = 129, ArgDiffDst = 145, ArgDiffWeights = 161;
    internal const int ArgFrom = ArgSrc, ArgTo = ArgDst;
    internal const int QuerySrcMd = 129, QueryDiffSrcMd = 130, QueryWeightsMd = 131, QueryDiffWeightsMd = 132, QueryDstMd = 133, QueryDiffDstMd = 134;
    internal const int QueryImplInfoStr = 8;
    internal const int StreamDefaultFlags = 1;
    internal const int StatusUnimplemented = 3;
    /// <summary>Opaque buffer sizes: generously above sizeof(dnnl_memory_desc_t) = 696, sizeof(dnnl_convolution_desc_t) = 5976.</summary>
    internal const int MemoryDescBytes = 2048, OpDescBytes = 16384;
    /// <summary>DNNL_MEMORY_ALLOCATE: the library allocates the buffer.</summary>
    internal static readonly IntPtr MemoryAllocate = new(-1);

    [StructLayout(LayoutKind.Sequential)]
    internal struct ExecArg { public int Arg; public IntPtr Memory; }

    [StructLayout(LayoutKind.Sequential)]
    private struct Version { public int Major, Minor, Patch; public IntPtr Hash; public uint CpuRuntime, GpuRuntime; }

    public static readonly string[] Candidates = ["libdnnl.so.2", "/usr/lib/x86_64-linux-gnu/libdnnl.so.2"];

    internal readonly delegate* unmanaged<IntPtr*, int, nuint, int> engine_create;
    internal readonly delegate* unmanaged<IntPtr, int> engine_destroy;
    internal readonly delegate* unmanaged<IntPtr*, IntPtr, uint, int> stream_create;
    internal readonly delegate* unmanaged<IntPtr, int> stream_wait;
    internal readonly delegate* unmanaged<IntPtr, int> stream_destroy;
    internal readonly delegate* unmanaged<void*, int, long*, int, int, int> memory_desc_init_by_tag;
    internal readonly delegate* unmanaged<void*, nuint> memory_desc_get_size;
    internal readonly delegate* unmanaged<void*, void*, int> memory_desc_equal;
    internal readonly delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, int> memory_create;
    internal readonly delegate* unmanaged<IntPtr, int> memory_destroy;
    internal readonly delegate* unmanaged<void*, int, int, void*, void*, void*, void*, long*, long*, long*, int> convolution_forward_desc_init;
    internal readonly delegate* unmanaged<void*, int, void*, void*, void*, long*, long*, long*, int> convolution_backward_data_desc_init;
    internal readonly delegate* unmanaged<void*, int, void*, void*, void*, void*, long*, long*, long*, int> convolution_backward_weights_desc_init;
    internal readonly delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, IntPtr, int> primitive_desc_create;
    internal readonly delegate* unmanaged<IntPtr, int> primitive_desc_destroy;
    internal readonly delegate* unmanaged<IntPtr, int, int, void*> primitive_desc_query_md;
    internal readonly delegate* unmanaged<IntPtr, int, int, void*, int> primitive_desc_query;
    internal readonly delegate* unmanaged<IntPtr*, IntPtr, int> primitive_create;
    internal readonly delegate* unmanaged<IntPtr, int> primitive_destroy;
    internal readonly delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int> primitive_execute;
    internal readonly delegate* unmanaged<IntPtr*, void*, IntPtr, void*, IntPtr, IntPtr, int> reorder_primitive_desc_create;
    private readonly delegate* unmanaged<int, IntPtr> status2str;
    private readonly delegate* unmanaged<int, void> omp_set_num_threads;
    private readonly delegate* unmanaged<int> omp_get_max_threads;

    internal IntPtr Engine { get; private set; }
    internal IntPtr Stream { get; private set; }
    /// <summary>e.g. "oneDNN 2.6.3 (OpenMP)".</summary>
    public string VersionText { get; }

    private Dnnl(IntPtr lib, IntPtr gomp)
    {
        engine_create = (delegate* unmanaged<IntPtr*, int, nuint, int>)NativeLibrary.GetExport(lib, "dnnl_engine_create");
        engine_destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_engine_destroy");
        stream_create = (delegate* unmanaged<IntPtr*, IntPtr, uint, int>)NativeLibrary.GetExport(lib, "dnnl_stream_create");
        stream_wait = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_stream_wait");
        stream_destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_stream_destroy");
        memory_desc_init_by_tag = (delegate* unmanaged<void*, int, long*, int, int, int>)NativeLibrary.GetExport(lib, "dnnl_memory_desc_init_by_tag");
        memory_desc_get_size = (delegate* unmanaged<void*, nuint>)NativeLibrary.GetExport(lib, "dnnl_memory_desc_get_size");
        memory_desc_equal = (delegate* unmanaged<void*, void*, int>)NativeLibrary.GetExport(lib, "dnnl_memory_desc_equal");
        memory_create = (delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_memory_create");
        memory_destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_memory_destroy");
        convolution_forward_desc_init = (delegate* unmanaged<void*, int, int, void*, void*, void*, void*, long*, long*, long*, int>)NativeLibrary.GetExport(lib, "dnnl_convolution_forward_desc_init");
        convolution_backward_data_desc_init = (delegate* unmanaged<void*, int, void*, void*, void*, long*, long*, long*, int>)NativeLibrary.GetExport(lib, "dnnl_convolution_backward_data_desc_init");
        convolution_backward_weights_desc_init = (delegate* unmanaged<void*, int, void*, void*, void*, void*, long*, long*, long*, int>)NativeLibrary.GetExport(lib, "dnnl_convolution_backward_weights_desc_init");
        primitive_desc_create = (delegate* unmanaged<IntPtr*, void*, IntPtr, IntPtr, IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_desc_create");
        primitive_desc_destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_desc_destroy");
        primitive_desc_query_md = (delegate* unmanaged<IntPtr, int, int, void*>)NativeLibrary.GetExport(lib, "dnnl_primitive_desc_query_md");
        primitive_desc_query = (delegate* unmanaged<IntPtr, int, int, void*, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_desc_query");
        primitive_create = (delegate* unmanaged<IntPtr*, IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_create");
        primitive_destroy = (delegate* unmanaged<IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_destroy");
        primitive_execute = (delegate* unmanaged<IntPtr, IntPtr, int, ExecArg*, int>)NativeLibrary.GetExport(lib, "dnnl_primitive_execute");
        reorder_primitive_desc_create = (delegate* unmanaged<IntPtr*, void*, IntPtr, void*, IntPtr, IntPtr, int>)NativeLibrary.GetExport(lib, "dnnl_reorder_primitive_desc_create");
        status2str = (delegate* unmanaged<int, IntPtr>)NativeLibrary.GetExport(lib, "dnnl_status2str");
        omp_set_num_threads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(gomp, "omp_set_num_threads");
        omp_get_max_threads = (delegate* unmanaged<int>)NativeLibrary.GetExport(gomp, "omp_get_max_threads");

        var ver = (Version*)((delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "dnnl_version"))();
        string runtime = ver->CpuRuntime switch { 1 => "sequential", 2 => "OpenMP", 4 => "TBB", 8 => "threadpool", _ => $"runtime {ver->CpuRuntime}" };
        VersionText = $"oneDNN {ver->Major}.{ver->Minor}.{ver->Patch} ({runtime})";

        IntPtr engine, stream;
        Check(engine_create(&engine, EngineCpu, 0), "dnnl_engine_create");
        Engine = engine;
        Check(stream_create(&stream, engine, StreamDefaultFlags), "dnnl_stream_create");
        Stream = stream;
    }

    /// <summary>
    /// OpenMP worker count for oneDNN's parallel regions started from the calling thread. oneDNN
    /// also reads it when it creates a primitive descriptor (its work split), so set it first.
    /// </summary>
    public int Threads
    {
        get => omp_get_max_threads();
        set => omp_set_num_threads(value);
    }

    internal void Check(int status, string api)
    {
        if (status == 0) return;
        string name = Marshal.PtrToStringUTF8(status2str(status)) ?? "unknown";
        throw new DnnlException(api, status, name);
    }

    internal void Wait() => Check(stream_wait(Stream), "dnnl_stream_wait");

    public static AnchorLoad<Dnnl> Load()
    {
        if (!OperatingSystem.IsLinux()) return AnchorLoad<Dnnl>.Fail("oneDNN", "the oneDNN anchor is wired for Linux only");
        IntPtr lib = IntPtr.Zero;
        foreach (var c in Candidates)
            if (NativeLibrary.TryLoad(c, out lib)) break;
        if (lib == IntPtr.Zero) return AnchorLoad<Dnnl>.Fail("oneDNN", "libdnnl.so.2 not found; install libdnnl2");
        try
        {
            // libdnnl's own libgomp dependency: loading by soname returns that same instance.
            IntPtr gomp = NativeLibrary.Load("libgomp.so.1");
            return AnchorLoad<Dnnl>.Ok("oneDNN", new Dnnl(lib, gomp));
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or DnnlException)
        {
            return AnchorLoad<Dnnl>.Fail("oneDNN", $"libdnnl.so.2: {e.Message}");
        }
    }

    public void Dispose()
    {
        if (Stream != IntPtr.Zero) { stream_destroy(Stream); Stream = IntPtr.Zero; }
        if (Engine != IntPtr.Zero) { engine_destroy(Engine); Engine = IntPtr.Zero; }
    }
}
