// Every kernels-cu file compiles with the installed NVRTC, without a GPU: for the oldest target
// NVRTC 13 still supports (sm_75, as PTX for the driver to finish) and as CUBIN for A100/H100-class
// GPUs. CI installs Debian's NVRTC 11.8 (libnvrtc11.2, non-free) so this runs there; the GPU
// machine has NVRTC 13, where the same test runs again. Without any NVRTC the test is skipped.
using Engine.Cuda;
using Engine.Cuda.Native;
using Xunit;

namespace Engine.Tests.Cuda;

public class NvrtcCompileTests
{
    private static void RequireNvrtc()
    {
        NativeResolver.Install();
        if (!NativeResolver.TryLoad("nvrtc", out _, out var err))
            Assert.Skip($"no NVRTC library on this machine ({err}); .ci/install-deps.sh installs libnvrtc11.2");
    }

    public static TheoryData<string> Files => new(KernelLibrary.Sources.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(Files))]
    public void KernelFileCompiles(string file)
    {
        RequireNvrtc();
        var supported = Nvrtc.SupportedArchs();
        foreach (var arch in new[] { "compute_75", "sm_80", "sm_90" })
        {
            if (arch.StartsWith("sm_") && !supported.Contains(int.Parse(arch[3..]))) continue;
            var (image, log) = Nvrtc.Compile(KernelLibrary.Sources[file], file, arch, KernelLibrary.Options);
            Assert.True(image.Length > 0, $"{file} [{arch}]: empty image");
            Assert.True(log.Length == 0 || !log.Contains("warning", StringComparison.OrdinalIgnoreCase), $"{file} [{arch}] compiled with warnings:\n{log}");
            if (arch.StartsWith("compute_"))
            {
                // PTX text: every kernel of the file is an .entry.
                var ptx = System.Text.Encoding.UTF8.GetString(image);
                foreach (var (kernel, f) in KernelLibrary.KernelFiles)
                    if (f == file) Assert.True(ptx.Contains($".entry {kernel}("), $"{file}: kernel {kernel} missing from the PTX");
                // And the converse: every entry the PTX holds can be launched by name (macro-pasted
                // names included), or a real GPU would refuse it as undefined.
                foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(ptx, @"\.entry\s+(\w+)\s*\("))
                    Assert.True(KernelLibrary.KernelFiles.TryGetValue(m.Groups[1].Value, out var owner) && owner == file,
                        $"{file}: PTX entry {m.Groups[1].Value} is not in the kernel index");
            }
        }
    }

    [Fact]
    public void TheLibraryHasKernels()
    {
        Assert.NotEmpty(KernelLibrary.Sources);
        Assert.NotEmpty(KernelLibrary.KernelFiles);
        foreach (var (kernel, file) in KernelLibrary.KernelFiles)
            Assert.True(KernelLibrary.Sources.ContainsKey(file), $"{kernel} -> {file}");
    }

    [Fact]
    public void CompileErrorNamesTheFileAndShowsTheLog()
    {
        RequireNvrtc();
        string src = KernelLibrary.Compose("broken.cu", "extern \"C\" __global__ void broken_f32(float* y) {\n  y[0] = undefined_thing;\n}\n", KernelLibrary.Raw("common.cuh"));
        var e = Assert.Throws<KernelCompileException>(() => Nvrtc.Compile(src, "broken.cu", "compute_75", KernelLibrary.Options));
        Assert.Equal("broken.cu", e.File);
        Assert.Contains("broken.cu(2)", e.Message);       // the #line directive maps errors to the file's own lines
        Assert.Contains("undefined_thing", e.Log);
        Assert.Contains("NVRTC_ERROR_COMPILATION", e.Message);
    }

    [Fact]
    public void ImagesAreCachedOnDiskByHashArchAndVersion()
    {
        RequireNvrtc();
        var dir = Path.Combine(Path.GetTempPath(), "engine-kcache-" + Guid.NewGuid().ToString("N"));
        var old = Environment.GetEnvironmentVariable("ENGINE_KERNEL_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("ENGINE_KERNEL_CACHE", dir);
            string file = KernelLibrary.Sources.Keys.Order(StringComparer.Ordinal).First();
            var a = KernelLibrary.Image(file, "compute_75", out bool hitA);
            var b = KernelLibrary.Image(file, "compute_75", out bool hitB);
            Assert.False(hitA);
            Assert.True(hitB);
            Assert.Equal(a, b);
            var v = Nvrtc.Version();
            Assert.True(File.Exists(Path.Combine(dir, KernelLibrary.CacheKey(file, KernelLibrary.Sources[file], "compute_75", v))));
            Assert.Single(Directory.GetFiles(dir));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ENGINE_KERNEL_CACHE", old);
            if (Directory.Exists(dir)) Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void CacheKeyChangesWithSourceArchAndVersion()
    {
        var k = KernelLibrary.CacheKey("x.cu", "src", "sm_90", (12, 4));
        Assert.NotEqual(k, KernelLibrary.CacheKey("x.cu", "src2", "sm_90", (12, 4)));
        Assert.NotEqual(k, KernelLibrary.CacheKey("x.cu", "src", "sm_80", (12, 4)));
        Assert.NotEqual(k, KernelLibrary.CacheKey("x.cu", "src", "sm_90", (13, 0)));
        Assert.EndsWith(".cubin", k);
        Assert.EndsWith(".ptx", KernelLibrary.CacheKey("x.cu", "src", "compute_90", (12, 4)));
    }

    [Fact]
    public void TargetIsTheExactArchOrPtxForTheNewestOlderOne()
    {
        int[] nvrtc118 = [35, 37, 50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90];
        Assert.Equal("sm_90", KernelLibrary.TargetFor(9, 0, nvrtc118));
        Assert.Equal("sm_86", KernelLibrary.TargetFor(8, 6, nvrtc118));
        Assert.Equal("compute_90", KernelLibrary.TargetFor(10, 0, nvrtc118)); // Blackwell on an older NVRTC: PTX, driver JIT
        Assert.Throws<UnsupportedOpException>(() => KernelLibrary.TargetFor(3, 0, [75, 80, 90]));
    }
}
