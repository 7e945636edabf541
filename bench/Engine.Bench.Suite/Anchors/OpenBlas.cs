// OpenBLAS anchor for the GEMM benchmark: cblas_sgemm (row-major, f32) from Debian's
// libopenblas0-pthread (a DYNAMIC_ARCH build that picks its kernels for the CPU at load time).
//
// To measure two core types in one process, each instance is a separate copy of the library's
// state: OpenBLAS reads OPENBLAS_CORETYPE with getenv in its load-time constructor, so the variable
// is set in the native environment (libc setenv), then a private COPY of the .so (a temp file with
// another name and inode) is dlopen'ed, which makes the loader map and initialize a second instance
// instead of returning the first. Libraries are opened RTLD_LOCAL (NativeLibrary's default), so
// each copy binds its own symbols. Functions are resolved with NativeLibrary.GetExport into
// unmanaged function pointers. Instances are never unloaded (OpenBLAS owns a thread pool).
//
// Every instance is loaded with OPENBLAS_THREAD_TIMEOUT=22: an idle worker spins 2^22 cycles
// (~2 ms) before sleeping instead of the default 2^28 (~0.1 s). In an interleaved run the default
// leaves a worker spinning on a core while the next candidate (ours) runs, which was measured here
// to take a whole core; back-to-back OpenBLAS calls still find their workers awake.
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Engine.Bench.Anchors;

/// <summary>One loaded instance of libopenblas, with its own kernels, settings and thread pool.</summary>
public sealed unsafe class OpenBlas
{
    /// <summary>Where Debian and common distributions put the library (the first that exists is used).</summary>
    public static readonly string[] Candidates =
    [
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
        "/usr/lib64/libopenblas.so.0",
        "/usr/lib/libopenblas.so.0",
        "/usr/local/lib/libopenblas.so.0",
    ];

    private const int CblasRowMajor = 101, CblasNoTrans = 111;

    /// <summary>log2 of the cycles an idle OpenBLAS worker spins before it sleeps (OPENBLAS_THREAD_TIMEOUT; the library's default is 28).</summary>
    public const int ThreadTimeoutLog2 = 22;

    private readonly delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void> _sgemm;
    private readonly delegate* unmanaged<int, void> _setNumThreads;
    private readonly delegate* unmanaged<int> _getNumThreads;

    /// <summary>Display name, e.g. "OpenBLAS default" or "OpenBLAS SkylakeX".</summary>
    public string Name { get; }
    /// <summary>OPENBLAS_CORETYPE this instance was loaded with (null: unset, the library's own detection).</summary>
    public string? RequestedCoreType { get; }
    /// <summary>openblas_get_config(), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Cooperlake MAX_THREADS=64".</summary>
    public string Config { get; }
    /// <summary>openblas_get_corename(), e.g. "cooperlake".</summary>
    public string CoreName { get; }
    /// <summary>The file that was loaded: the installed library, or "copy of ..." for a private instance.</summary>
    public string LoadedFrom { get; }

    private OpenBlas(IntPtr lib, string name, string? coreType, string loadedFrom)
    {
        Name = name;
        RequestedCoreType = coreType;
        LoadedFrom = loadedFrom;
        _sgemm = (delegate* unmanaged<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)NativeLibrary.GetExport(lib, "cblas_sgemm");
        _setNumThreads = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(lib, "openblas_set_num_threads");
        _getNumThreads = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "openblas_get_num_threads");
        var getConfig = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "openblas_get_config");
        var getCore = (delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(lib, "openblas_get_corename");
        Config = Marshal.PtrToStringUTF8(getConfig())?.Trim() ?? "?";
        CoreName = Marshal.PtrToStringUTF8(getCore())?.Trim() ?? "?";
    }

    public int Threads
    {
        get => _getNumThreads();
        set => _setNumThreads(value);
    }

    /// <summary>Row-major C (M x N) = A (M x K) * B (K x N), all contiguous.</summary>
    public void Sgemm(int m, int n, int k, float* a, float* b, float* c)
        => _sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1f, a, k, b, n, 0f, c, n);

    public static string? FindLibrary() => Candidates.FirstOrDefault(File.Exists);

    /// <summary>The AVX-512 subsets OpenBLAS's SkylakeX kernels use.</summary>
    public static bool HasSkylakeXIsa =>
        Avx512F.IsSupported && Avx512CD.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;

    /// <summary>
    /// Loads an instance. coreType null: the installed library with OPENBLAS_CORETYPE unset (the
    /// library detects the CPU); otherwise a private copy loaded with OPENBLAS_CORETYPE=coreType.
    /// Each call with a core type creates a new instance: call once per process and keep it.
    /// </summary>
    public static AnchorLoad<OpenBlas> Load(string? coreType)
    {
        string name = coreType is null ? "OpenBLAS default" : $"OpenBLAS {coreType}";
        if (!OperatingSystem.IsLinux()) return AnchorLoad<OpenBlas>.Fail(name, "the OpenBLAS anchor is wired for Linux only");
        // A forced core type is not checked against the CPU by OpenBLAS: SkylakeX kernels on a CPU
        // without AVX-512 would die with SIGILL, so refuse up front.
        if (coreType is not null && coreType.Equals("SkylakeX", StringComparison.OrdinalIgnoreCase) && !HasSkylakeXIsa)
            return AnchorLoad<OpenBlas>.Fail(name, "SkylakeX kernels need AVX-512 F/CD/BW/DQ/VL, which this CPU lacks");
        string? path = FindLibrary();
        if (path is null) return AnchorLoad<OpenBlas>.Fail(name, $"libopenblas.so.0 not found ({string.Join(", ", Candidates)}); install libopenblas0-pthread");
        string? copy = null;
        try
        {
            string file = path;
            if (coreType is not null)
            {
                // Resolve the alternatives symlinks: the copy must be the ELF file itself.
                string real = new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;
                copy = Path.Combine(Path.GetTempPath(), $"engine-bench-openblas-{coreType.ToLowerInvariant()}-{Environment.ProcessId}-{Guid.NewGuid():N}.so");
                File.Copy(real, copy);
                file = copy;
            }
            var env = new Dictionary<string, string?>
            {
                ["OPENBLAS_CORETYPE"] = coreType,
                ["OPENBLAS_THREAD_TIMEOUT"] = ThreadTimeoutLog2.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            IntPtr lib = NativeEnv.With(env, () => NativeLibrary.Load(file));
            var ob = new OpenBlas(lib, name, coreType, coreType is null ? path : $"private copy of {path}");
            if (coreType is not null && !ob.CoreName.Equals(coreType, StringComparison.OrdinalIgnoreCase))
                return AnchorLoad<OpenBlas>.Fail(name, $"loaded with OPENBLAS_CORETYPE={coreType} but reports core '{ob.CoreName}' ({ob.Config})");
            return AnchorLoad<OpenBlas>.Ok(name, ob);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
        {
            return AnchorLoad<OpenBlas>.Fail(name, $"{path}: {e.Message}");
        }
        finally
        {
            // The mapping outlives the file: nothing is left in the temp folder.
            if (copy is not null) try { File.Delete(copy); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The default instance and one private instance per extra core type. Load has checked that each
    /// extra instance reports the core type it was asked for, so a copy that failed to become a
    /// separate instance (and kept the default's kernels) is refused rather than measured.
    /// </summary>
    public static IReadOnlyList<AnchorLoad<OpenBlas>> LoadSet(params string[] coreTypes)
        => [Load(null), .. coreTypes.Select(ct => Load(ct))];
}
