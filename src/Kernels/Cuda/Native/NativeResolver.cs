// Finds the CUDA libraries that are installed, whichever versions they are, for the
// [LibraryImport] bindings of this assembly (library names "cuda", "nvrtc", "cublas", "cudnn").
// Search order per library: each candidate soname (newest first) through the loader's own search
// (LD_LIBRARY_PATH, ld.so cache), then in ENGINE_CUDA_LIB_DIR, CUDA_PATH/CUDA_HOME (lib64, lib,
// targets/x86_64-linux/lib), /usr/local/cuda*, the distribution's library folders, WSL's driver
// folder and the nvidia/*/lib folders of installed Python packages (PyTorch's pip wheels ship
// cuBLAS, cuDNN and NVRTC there). What was loaded, and from where, is kept for `engine devices`.
using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine.Cuda.Native;

public static class NativeResolver
{
    public static readonly IReadOnlyDictionary<string, string[]> Candidates = new Dictionary<string, string[]>
    {
        ["cuda"] = ["libcuda.so.1", "libcuda.so"],
        ["nvrtc"] = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"],
        ["cublas"] = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"],
        ["cudnn"] = ["libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"],
    };

    // cuDNN 9 splits into sub-libraries it opens by soname; preloading them from the folder the main
    // library came from makes that work even when the folder is not on the loader's path.
    private static readonly string[] CudnnParts =
        ["libcudnn_graph", "libcudnn_engines_precompiled", "libcudnn_engines_runtime_compiled", "libcudnn_heuristic",
         "libcudnn_ops", "libcudnn_cnn", "libcudnn_adv", "libcudnn_ops_infer", "libcudnn_ops_train", "libcudnn_cnn_infer", "libcudnn_cnn_train"];

    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, (IntPtr handle, string path)> Loaded = new();
    private static readonly Dictionary<string, string> Failures = new();
    private static int _installed;

    /// <summary>Installs the resolver for this assembly's bindings (idempotent).</summary>
    public static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 1) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeResolver).Assembly, Resolve);
    }

    private static IntPtr Resolve(string name, Assembly asm, DllImportSearchPath? path)
        => Candidates.ContainsKey(name) && TryLoad(name, out var h, out _) ? h : IntPtr.Zero;

    /// <summary>Loads library <paramref name="name"/> (cuda, nvrtc, cublas, cudnn); on failure
    /// <paramref name="error"/> lists what was tried.</summary>
    public static bool TryLoad(string name, out IntPtr handle, out string error)
    {
        lock (Gate)
        {
            if (Loaded.TryGetValue(name, out var l)) { handle = l.handle; error = ""; return true; }
            if (Failures.TryGetValue(name, out var f)) { handle = IntPtr.Zero; error = f; return false; }
            foreach (var soname in Candidates[name])
            {
                if (NativeLibrary.TryLoad(soname, out handle))
                {
                    Loaded[name] = (handle, LoadedPath(handle, soname));
                    if (name == "cudnn") PreloadCudnnParts(Path.GetDirectoryName(Loaded[name].path));
                    error = "";
                    return true;
                }
                foreach (var dir in SearchDirs())
                {
                    var file = Path.Combine(dir, soname);
                    if (File.Exists(file) && NativeLibrary.TryLoad(file, out handle))
                    {
                        if (name == "cudnn") PreloadCudnnParts(dir);
                        Loaded[name] = (handle, file);
                        error = "";
                        return true;
                    }
                }
            }
            handle = IntPtr.Zero;
            error = $"none of {string.Join(", ", Candidates[name])} found on the loader path or in {string.Join(", ", SearchDirs().Take(12))}"
                + (SearchDirs().Count() > 12 ? ", ..." : "");
            Failures[name] = error;
            return false;
        }
    }

    /// <summary>File a library was loaded from (null if not loaded).</summary>
    public static string? PathOf(string name)
    {
        lock (Gate) return Loaded.TryGetValue(name, out var l) ? l.path : null;
    }

    private static void PreloadCudnnParts(string? dir)
    {
        if (dir == null || !Directory.Exists(dir)) return;
        foreach (var part in CudnnParts)
            foreach (var f in Directory.EnumerateFiles(dir, part + ".so*").OrderBy(f => f.Length))
            {
                NativeLibrary.TryLoad(f, out _);
                break;
            }
    }

    // ld.so resolved the soname itself: find the file through /proc/self/maps so the report can name it.
    private static string LoadedPath(IntPtr handle, string soname)
    {
        string stem = soname[..(soname.IndexOf(".so", StringComparison.Ordinal) + 3)];
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                int i = line.IndexOf('/');
                if (i < 0) continue;
                var p = line[i..];
                var file = Path.GetFileName(p);
                if (file.StartsWith(stem, StringComparison.Ordinal))
                    return p;
            }
        }
        catch (IOException) { }
        return soname;
    }

    /// <summary>Folders searched after the loader's own search, in order, existing ones only.</summary>
    public static IEnumerable<string> SearchDirs()
    {
        var dirs = new List<string>();
        void Add(string? d) { if (!string.IsNullOrEmpty(d) && Directory.Exists(d) && !dirs.Contains(d)) dirs.Add(d); }
        Add(Environment.GetEnvironmentVariable("ENGINE_CUDA_LIB_DIR"));
        foreach (var v in new[] { "CUDA_PATH", "CUDA_HOME", "CUDA_ROOT" })
        {
            var root = Environment.GetEnvironmentVariable(v);
            if (string.IsNullOrEmpty(root)) continue;
            Add(Path.Combine(root, "lib64")); Add(Path.Combine(root, "lib")); Add(Path.Combine(root, "targets", "x86_64-linux", "lib"));
        }
        foreach (var d in (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? "").Split(':')) Add(d);
        Add("/usr/local/cuda/lib64"); Add("/usr/local/cuda/targets/x86_64-linux/lib");
        try
        {
            foreach (var c in Directory.EnumerateDirectories("/usr/local", "cuda-*").OrderDescending())
            { Add(Path.Combine(c, "lib64")); Add(Path.Combine(c, "targets", "x86_64-linux", "lib")); }
        }
        catch (IOException) { } catch (UnauthorizedAccessException) { }
        Add("/usr/lib/x86_64-linux-gnu"); Add("/usr/lib64"); Add("/usr/lib"); Add("/usr/lib/wsl/lib");
        foreach (var site in PythonSiteDirs())
        {
            var nv = Path.Combine(site, "nvidia");
            if (!Directory.Exists(nv)) continue;
            try
            {
                foreach (var pkg in Directory.EnumerateDirectories(nv).Order())
                { Add(Path.Combine(pkg, "lib")); Add(Path.Combine(pkg, "lib64")); }
                Add(Path.Combine(nv, "cu13", "lib")); // CUDA 13 wheels put every library in one folder
            }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return dirs;
    }

    private static IEnumerable<string> PythonSiteDirs()
    {
        var roots = new List<string>();
        foreach (var d in (Environment.GetEnvironmentVariable("PYTHONPATH") ?? "").Split(':')) if (d.Length > 0) roots.Add(d);
        var venv = Environment.GetEnvironmentVariable("VIRTUAL_ENV");
        var conda = Environment.GetEnvironmentVariable("CONDA_PREFIX");
        var home = Environment.GetEnvironmentVariable("HOME");
        foreach (var prefix in new[] { venv, conda, "/usr/local", "/usr", "/opt/conda", home == null ? null : Path.Combine(home, ".local") })
        {
            if (prefix == null) continue;
            var lib = Path.Combine(prefix, "lib");
            if (!Directory.Exists(lib)) continue;
            try
            {
                foreach (var py in Directory.EnumerateDirectories(lib, "python3*").OrderDescending())
                { roots.Add(Path.Combine(py, "site-packages")); roots.Add(Path.Combine(py, "dist-packages")); }
            }
            catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        roots.Add("/usr/lib/python3/dist-packages");
        return roots.Where(Directory.Exists).Distinct();
    }
}
