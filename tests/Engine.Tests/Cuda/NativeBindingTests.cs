// The [LibraryImport] bindings against the real libraries, where they are installed without a GPU
// (CI installs Debian's libnvrtc11.2, libcuda1 and libcublas11; cuDNN has no Debian package, so its
// row is skipped here): every entry point we bind must be exported by the library we load, and the
// calls that work without a device (versions, error names, cuInit's refusal) must go through.
using System.Reflection;
using System.Runtime.InteropServices;
using Engine.Cuda;
using Engine.Cuda.Native;
using Xunit;

namespace Engine.Tests.Cuda;

public class NativeBindingTests
{
    public static TheoryData<string> Libraries => new("cuda", "nvrtc", "cublas", "cudnn");

    private static readonly Dictionary<string, Type> Bindings = new()
    {
        ["cuda"] = typeof(CuDriver), ["nvrtc"] = typeof(Nvrtc), ["cublas"] = typeof(Cublas), ["cudnn"] = typeof(Cudnn),
    };

    private static IntPtr Load(string lib)
    {
        NativeResolver.Install();
        if (!NativeResolver.TryLoad(lib, out var h, out var err)) Assert.Skip($"{lib} is not installed here: {err}");
        return h;
    }

    [Theory]
    [MemberData(nameof(Libraries))]
    public void EveryBoundEntryPointIsExported(string lib)
    {
        var h = Load(lib);
        var methods = Bindings[lib].GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => (m, a: m.GetCustomAttribute<LibraryImportAttribute>()))
            .Where(x => x.a != null).ToList();
        Assert.True(methods.Count > 5, $"{lib}: found only {methods.Count} [LibraryImport] methods");
        var missing = methods.Select(x => x.a!.EntryPoint ?? x.m.Name).Where(e => !NativeLibrary.TryGetExport(h, e, out _)).ToList();
        Assert.True(missing.Count == 0, $"{NativeResolver.PathOf(lib)} does not export: {string.Join(", ", missing)}");
    }

    [Fact]
    public void DriverCallsGoThroughAndNoDeviceIsATypedError()
    {
        Load("cuda");
        Assert.Equal(0, CuDriver.cuDriverGetVersion(out int v));
        Assert.True(v >= 11000, $"driver version {v}");
        Assert.StartsWith("CUDA_ERROR_OUT_OF_MEMORY", CuDriver.Describe(CuDriver.CUDA_ERROR_OUT_OF_MEMORY));
        if (CudaSetup.TryProbe(out _)) Assert.Skip("a GPU is present: the no-device path is not reachable");
        var e = Assert.ThrowsAny<EngineException>(() => CudaRuntime.Create(0));
        Assert.Contains("cuda init", e.Message);
        Assert.Contains("cuInit", e.Message);
    }

    [Fact]
    public void CublasWithoutADeviceFailsWithANamedStatus()
    {
        Load("cublas");
        if (CudaSetup.TryProbe(out _)) Assert.Skip("a GPU is present: handle creation succeeds there");
        int s = Cublas.cublasCreate(out var h);
        if (s == 0) { Cublas.cublasDestroy(h); Assert.Fail("cublasCreate succeeded without a usable GPU"); }
        var e = Assert.Throws<CudaException>(() => Cublas.Check(s, "cublasCreate", "cuda init"));
        Assert.StartsWith("CUBLAS_STATUS_", e.StatusName);
        Assert.Contains("cublas call cublasCreate failed with CUBLAS_STATUS_", e.Message);
    }

    [Fact]
    public void NvrtcReportsItsVersionAndTargets()
    {
        Load("nvrtc");
        var (major, _) = Nvrtc.Version();
        Assert.True(major >= 11);
        var archs = Nvrtc.SupportedArchs();
        Assert.Contains(80, archs);
        Assert.Equal("NVRTC_ERROR_COMPILATION", Nvrtc.Describe(Nvrtc.NVRTC_ERROR_COMPILATION));
    }
}
