// NVRTC bindings (libnvrtc.so.13 / .12 / .11.2): run-time compilation of CUDA C to PTX or CUBIN.
// Works without a GPU, which is how CI compiles every kernels-cu file.
using System.Runtime.InteropServices;
using System.Text;

namespace Engine.Cuda.Native;

public static unsafe partial class Nvrtc
{
    private const string Lib = "nvrtc";

    [LibraryImport(Lib)] public static partial int nvrtcVersion(out int major, out int minor);
    [LibraryImport(Lib)] public static partial int nvrtcGetNumSupportedArchs(out int count);
    [LibraryImport(Lib)] public static partial int nvrtcGetSupportedArchs(int* archs);
    [LibraryImport(Lib)] public static partial int nvrtcCreateProgram(out IntPtr prog, byte* src, byte* name, int numHeaders, byte** headers, byte** includeNames);
    [LibraryImport(Lib)] public static partial int nvrtcDestroyProgram(ref IntPtr prog);
    [LibraryImport(Lib)] public static partial int nvrtcCompileProgram(IntPtr prog, int numOptions, byte** options);
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLogSize(IntPtr prog, out nuint size);
    [LibraryImport(Lib)] public static partial int nvrtcGetProgramLog(IntPtr prog, byte* log);
    [LibraryImport(Lib)] public static partial int nvrtcGetPTXSize(IntPtr prog, out nuint size);
    [LibraryImport(Lib)] public static partial int nvrtcGetPTX(IntPtr prog, byte* ptx);
    [LibraryImport(Lib)] public static partial int nvrtcGetCUBINSize(IntPtr prog, out nuint size);
    [LibraryImport(Lib)] public static partial int nvrtcGetCUBIN(IntPtr prog, byte* cubin);
    [LibraryImport(Lib)] public static partial byte* nvrtcGetErrorString(int result);

    public const int NVRTC_ERROR_COMPILATION = 6;

    public static string Describe(int r)
    {
        try { var p = nvrtcGetErrorString(r); return p == null ? $"nvrtcResult {r}" : Marshal.PtrToStringUTF8((IntPtr)p)!; }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return $"nvrtcResult {r}"; }
    }

    public static void Check(int r, string call, string op)
    {
        if (r != 0) throw new CudaException("nvrtc", call, r, Describe(r), op);
    }

    public static (int major, int minor) Version()
    {
        Check(nvrtcVersion(out int a, out int b), "nvrtcVersion", "nvrtc");
        return (a, b);
    }

    /// <summary>The real architectures (e.g. 75, 80, 90) this NVRTC can emit CUBIN for.</summary>
    public static int[] SupportedArchs()
    {
        Check(nvrtcGetNumSupportedArchs(out int n), "nvrtcGetNumSupportedArchs", "nvrtc");
        var a = new int[n];
        fixed (int* p = a) Check(nvrtcGetSupportedArchs(p), "nvrtcGetSupportedArchs", "nvrtc");
        return a;
    }

    /// <summary>Compiles one translation unit. Returns the image (CUBIN for sm_XX, PTX (NUL-terminated)
    /// for compute_XX) and the log; a compilation error throws KernelCompileException with the log.</summary>
    public static (byte[] image, string log) Compile(string source, string fileName, string arch, IReadOnlyList<string> options)
    {
        var all = new List<string> { $"--gpu-architecture={arch}" };
        all.AddRange(options);
        byte[] src = Encoding.UTF8.GetBytes(source + "\0"), name = Encoding.UTF8.GetBytes(fileName + "\0");
        var opt = all.Select(o => Encoding.UTF8.GetBytes(o + "\0")).ToArray();
        var handles = opt.Select(o => GCHandle.Alloc(o, GCHandleType.Pinned)).ToArray();
        IntPtr prog = IntPtr.Zero;
        try
        {
            var optPtrs = stackalloc byte*[opt.Length];
            for (int i = 0; i < opt.Length; i++) optPtrs[i] = (byte*)handles[i].AddrOfPinnedObject();
            fixed (byte* s = src, n = name)
                Check(nvrtcCreateProgram(out prog, s, n, 0, null, null), "nvrtcCreateProgram", $"compile {fileName}");
            int rc = nvrtcCompileProgram(prog, opt.Length, optPtrs);
            Check(nvrtcGetProgramLogSize(prog, out nuint logSize), "nvrtcGetProgramLogSize", $"compile {fileName}");
            var logBytes = new byte[(int)logSize + 1];
            fixed (byte* l = logBytes) Check(nvrtcGetProgramLog(prog, l), "nvrtcGetProgramLog", $"compile {fileName}");
            string log = Encoding.UTF8.GetString(logBytes).TrimEnd('\0').Trim();
            if (rc != 0) throw new KernelCompileException(fileName, arch, Describe(rc), log);
            byte[] image;
            if (arch.StartsWith("sm_", StringComparison.Ordinal))
            {
                Check(nvrtcGetCUBINSize(prog, out nuint size), "nvrtcGetCUBINSize", $"compile {fileName}");
                image = new byte[(int)size];
                fixed (byte* p = image) Check(nvrtcGetCUBIN(prog, p), "nvrtcGetCUBIN", $"compile {fileName}");
            }
            else
            {
                Check(nvrtcGetPTXSize(prog, out nuint size), "nvrtcGetPTXSize", $"compile {fileName}");
                image = new byte[(int)size];
                fixed (byte* p = image) Check(nvrtcGetPTX(prog, p), "nvrtcGetPTX", $"compile {fileName}");
            }
            return (image, log);
        }
        finally
        {
            if (prog != IntPtr.Zero) nvrtcDestroyProgram(ref prog);
            foreach (var h in handles) h.Free();
        }
    }
}

/// <summary>A kernels-cu file failed to compile: carries NVRTC's log with the file name.</summary>
public sealed class KernelCompileException(string file, string arch, string status, string log)
    : EngineException($"nvrtc: compiling {file} for {arch} failed ({status}):\n{log}")
{
    public string File { get; } = file;
    public string Log { get; } = log;
}
