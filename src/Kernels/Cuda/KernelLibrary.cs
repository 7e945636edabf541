// The kernel library: the kernels-cu/*.cu files embedded in this assembly, compiled by NVRTC for
// the device's exact architecture and cached on disk. common.cuh is prepended to every file, and a
// file's `#include "x.cuh"` lines are replaced by those kernels-cu headers (e.g. philox.cuh). A file
// is compiled the first time one of its kernels is launched. The cache key is (source hash including
// common.cuh, the inlined headers and the options, target architecture, NVRTC version), so editing a
// kernel, changing NVRTC or moving to another GPU never reuses a stale image. Cache folder:
// $ENGINE_KERNEL_CACHE, else $XDG_CACHE_HOME/engine/kernels, else ~/.cache/engine/kernels (a
// read-only or missing home only disables the disk cache).
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Engine.Cuda.Native;

namespace Engine.Cuda;

public static partial class KernelLibrary
{
    /// <summary>Options every kernel is compiled with (no fast-math: IEEE division, square root and
    /// denormals, so results track the CPU backend; FMA contraction stays NVCC's default).</summary>
    public static readonly IReadOnlyList<string> Options = ["--std=c++17", "-DENGINE_NVRTC=1"];

    private static readonly Lazy<(Dictionary<string, string> sources, Dictionary<string, string> kernels)> Index = new(LoadIndex);

    /// <summary>kernels-cu file name -> compilable text (common.cuh prepended, #line kept right).</summary>
    public static IReadOnlyDictionary<string, string> Sources => Index.Value.sources;

    /// <summary>extern "C" kernel name -> the kernels-cu file that defines it.</summary>
    public static IReadOnlyDictionary<string, string> KernelFiles => Index.Value.kernels;

    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+(\w+)\s*\(")]
    private static partial Regex KernelDecl();

    // A kernel named by token pasting inside a function-like macro: `#define M(TN, T) extern "C"
    // __global__ void reduce_##TN(...)`, instantiated by top-level `M(f32, float)` lines.
    [GeneratedRegex(@"^[ \t]*#define[ \t]+(\w+)\(([^)]*)\)((?:[^\n]*\\\r?\n)*[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex MacroDef();

    [GeneratedRegex(@"extern\s+""C""\s+__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s+)?void\s+(\w+(?:\s*##\s*\w+)+)\s*\(")]
    private static partial Regex PastedKernelDecl();

    /// <summary>The extern "C" kernel names a kernels-cu text defines: literal declarations, plus those a
    /// function-like macro pastes together, expanded for each top-level invocation of the macro.</summary>
    public static IEnumerable<string> KernelNames(string text)
    {
        foreach (Match m in KernelDecl().Matches(text)) yield return m.Groups[1].Value;
        foreach (Match def in MacroDef().Matches(text))
        {
            var templates = PastedKernelDecl().Matches(def.Groups[3].Value).Select(t => t.Groups[1].Value).ToArray();
            if (templates.Length == 0) continue;
            var parameters = def.Groups[2].Value.Split(',').Select(p => p.Trim()).ToArray();
            var call = new Regex(@"^[ \t]*" + Regex.Escape(def.Groups[1].Value) + @"[ \t]*\(([^)]*)\)", RegexOptions.Multiline);
            foreach (Match inv in call.Matches(text))
            {
                var args = inv.Groups[1].Value.Split(',').Select(a => a.Trim()).ToArray();
                if (args.Length != parameters.Length) continue;
                foreach (var t in templates)
                    yield return string.Concat(t.Split("##").Select(tok =>
                    {
                        tok = tok.Trim();
                        int at = Array.IndexOf(parameters, tok);
                        return at < 0 ? tok : args[at];
                    }));
            }
        }
    }

    /// <summary>Raw embedded text of a kernels-cu file (e.g. "common.cuh").</summary>
    public static string Raw(string file)
    {
        var asm = typeof(KernelLibrary).Assembly;
        using var s = asm.GetManifestResourceStream("kernels-cu/" + file)
            ?? throw new FileNotFoundException($"kernels-cu/{file} is not embedded in {asm.GetName().Name}");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Prepends common.cuh to a .cu text; #line directives keep NVRTC's messages pointing at the right file and line.</summary>
    public static string Compose(string file, string text, string common)
        => "#line 1 \"common.cuh\"\n" + common.Replace("#pragma once", "") + $"\n#line 1 \"{file}\"\n" + text;

    [GeneratedRegex(@"^[ \t]*#[ \t]*include[ \t]+""(?<name>[\w.\-]+\.cuh)""[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex LocalInclude();

    /// <summary>Replaces each `#include "name.cuh"` line of a .cu text by that kernels-cu header (NVRTC
    /// has no include path here), once per header, with #line directives around it so messages keep
    /// pointing at the header's and the file's own lines. `header` returns a header's raw text.</summary>
    public static string InlineIncludes(string file, string text, Func<string, string> header)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return LocalInclude().Replace(text, m =>
        {
            string name = m.Groups["name"].Value;
            int line = text.Take(m.Index).Count(c => c == '\n') + 1; // the #include's own line
            string resume = $"#line {line + 1} \"{file}\"";
            if (name == "common.cuh" || !seen.Add(name)) return "\n" + resume; // common.cuh is prepended anyway
            string h = header(name).Replace("#pragma once", "");
            if (h.Contains("#include \"", StringComparison.Ordinal))
                throw new InvalidOperationException($"kernels-cu/{name} (included by {file}) includes another file; headers must be self-contained");
            return $"#line 1 \"{name}\"\n{h}\n{resume}";
        });
    }

    private static (Dictionary<string, string>, Dictionary<string, string>) LoadIndex()
    {
        var asm = typeof(KernelLibrary).Assembly;
        string common = Raw("common.cuh");
        var sources = new Dictionary<string, string>();
        var kernels = new Dictionary<string, string>();
        foreach (var res in asm.GetManifestResourceNames().Where(n => n.StartsWith("kernels-cu/", StringComparison.Ordinal) && n.EndsWith(".cu", StringComparison.Ordinal)).Order())
        {
            string file = res["kernels-cu/".Length..];
            string text = Raw(file);
            sources[file] = Compose(file, InlineIncludes(file, text, Raw), common);
            foreach (string name in KernelNames(text))
            {
                if (kernels.TryGetValue(name, out var other))
                    throw new InvalidOperationException($"kernel {name} is defined in both {other} and {file}");
                kernels[name] = file;
            }
        }
        return (sources, kernels);
    }

    /// <summary>The NVRTC target for a device of compute capability (major, minor): CUBIN for the
    /// exact sm_XY when this NVRTC supports it, else PTX for the newest older virtual architecture
    /// (the driver finishes the compilation).</summary>
    public static string TargetFor(int major, int minor, int[] supported)
    {
        int cc = major * 10 + minor;
        if (supported.Contains(cc)) return $"sm_{cc}";
        var older = supported.Where(a => a <= cc).ToArray();
        if (older.Length == 0) throw new UnsupportedOpException("kernel library", $"NVRTC supports architectures {string.Join(", ", supported)}; the GPU is sm_{cc}");
        return $"compute_{older.Max()}";
    }

    /// <summary>Folder of the on-disk cache, or null if none is usable.</summary>
    public static string? CacheDir()
    {
        string? dir = Environment.GetEnvironmentVariable("ENGINE_KERNEL_CACHE");
        if (string.IsNullOrEmpty(dir))
        {
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var home = Environment.GetEnvironmentVariable("HOME");
            dir = !string.IsNullOrEmpty(xdg) ? Path.Combine(xdg, "engine", "kernels")
                : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache", "engine", "kernels") : null;
        }
        if (dir == null) return null;
        try { Directory.CreateDirectory(dir); return dir; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Cache file name for (file, source, arch, NVRTC version).</summary>
    public static string CacheKey(string file, string source, string arch, (int major, int minor) nvrtc)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(source + "\n//" + string.Join(" ", Options)));
        string ext = arch.StartsWith("sm_", StringComparison.Ordinal) ? "cubin" : "ptx";
        return $"{Path.GetFileNameWithoutExtension(file)}-{Convert.ToHexString(hash, 0, 12).ToLowerInvariant()}-{arch}-nvrtc{nvrtc.major}.{nvrtc.minor}.{ext}";
    }

    /// <summary>Compiles (or reads from the cache) one kernels-cu file for an NVRTC target.</summary>
    public static byte[] Image(string file, string arch, out bool fromCache)
    {
        NativeResolver.Install();
        if (!Sources.TryGetValue(file, out var src)) throw new FileNotFoundException($"no kernels-cu file {file}");
        var version = Nvrtc.Version();
        var dir = CacheDir();
        var path = dir == null ? null : Path.Combine(dir, CacheKey(file, src, arch, version));
        if (path != null && File.Exists(path))
        {
            try { fromCache = true; return File.ReadAllBytes(path); }
            catch (IOException) { }
        }
        var (image, _) = Nvrtc.Compile(src, file, arch, Options);
        fromCache = false;
        if (path != null)
        {
            try
            {
                var tmp = path + $".{Environment.ProcessId}.tmp";
                File.WriteAllBytes(tmp, image);
                File.Move(tmp, path, overwrite: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
        return image;
    }
}
