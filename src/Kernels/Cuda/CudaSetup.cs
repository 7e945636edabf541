// Entry point of the CUDA backend: probing for a usable GPU, registering the backend factory for
// DeviceType.Cuda with Engine.Backends, and the report `engine devices` prints (GPU, driver, CUDA,
// NVRTC, cuBLAS and cuDNN versions and where each library was found, or why none was).
using System.Runtime.InteropServices;
using Engine.Cuda.Native;

namespace Engine.Cuda;

public static class CudaSetup
{
    private static int _registered;

    /// <summary>Registers the CUDA backend for DeviceType.Cuda (idempotent). Backends are created on
    /// first use of a device (Backends.Get(Device.Cuda(i))).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1) return;
        NativeResolver.Install();
        Backends.Register(DeviceType.Cuda, CreateBackend);
    }

    /// <summary>A new backend on CUDA device <paramref name="ordinal"/> (its own runtime, stream and caches).</summary>
    public static IBackend CreateBackend(int ordinal) => new CudaBackend(CudaRuntime.Create(ordinal), Device.Cuda(ordinal));

    /// <summary>True when CUDA device 0 can be used; otherwise <paramref name="reason"/> says why
    /// (no driver library, no device, driver error). Does not create a context.</summary>
    public static bool TryProbe(out string reason)
    {
        NativeResolver.Install();
        if (!NativeResolver.TryLoad("cuda", out _, out var err)) { reason = $"no CUDA driver library: {err}"; return false; }
        try
        {
            int r = CuDriver.cuInit(0);
            if (r != 0) { reason = $"cuInit failed: {CuDriver.Describe(r)}"; return false; }
            r = CuDriver.cuDeviceGetCount(out int n);
            if (r != 0) { reason = $"cuDeviceGetCount failed: {CuDriver.Describe(r)}"; return false; }
            if (n == 0) { reason = "the CUDA driver reports no device"; return false; }
            reason = "";
            return true;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            reason = $"the CUDA driver library is unusable: {e.Message}";
            return false;
        }
    }

    /// <summary>What the engine found, line by line (label, value); never throws.</summary>
    public static List<(string label, string value)> Report()
    {
        NativeResolver.Install();
        var r = new List<(string, string)>();
        string blas = "";
        string Ver(int v) => $"{v / 1000}.{v % 1000 / 10}";
        if (!NativeResolver.TryLoad("cuda", out _, out var err)) r.Add(("driver", "not found: " + err));
        else
        {
            r.Add(("driver library", NativeResolver.PathOf("cuda") ?? "?"));
            try
            {
                if (CuDriver.cuDriverGetVersion(out int dv) == 0) r.Add(("CUDA (driver supports)", Ver(dv)));
                if (TryProbe(out var why))
                {
                    CuDriver.cuDeviceGetCount(out int n);
                    for (int i = 0; i < n; i++)
                    {
                        try
                        {
                            using var rt = CudaRuntime.Create(i);
                            r.Add(($"cuda:{i}", $"{rt.Name}, compute capability {rt.ComputeCapability.Major}.{rt.ComputeCapability.Minor}, {rt.MultiprocessorCount} SMs, {CudaOutOfMemoryException.Bytes(rt.TotalMemory)}; kernels compiled for {rt.KernelTarget}"));
                            if (i == 0)
                            {
                                try { using var libs = new CudaLibraries(rt); blas = $"{Semver(libs.BlasVersion)} ("; }
                                catch (Exception e) when (e is EngineException or DllNotFoundException or EntryPointNotFoundException) { blas = $"unusable: {e.Message} ("; }
                            }
                        }
                        catch (EngineException e) { r.Add(($"cuda:{i}", "unusable: " + e.Message)); }
                    }
                }
                else r.Add(("GPU", "none: " + why));
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { r.Add(("driver", "unusable: " + e.Message)); }
        }
        if (NativeResolver.TryLoad("nvrtc", out _, out err))
        {
            try
            {
                var (ma, mi) = Nvrtc.Version();
                r.Add(("NVRTC", $"{ma}.{mi} ({NativeResolver.PathOf("nvrtc")}), targets sm_{string.Join(", sm_", Nvrtc.SupportedArchs())}"));
            }
            catch (Exception e) when (e is EntryPointNotFoundException or EngineException) { r.Add(("NVRTC", "unusable: " + e.Message)); }
        }
        else r.Add(("NVRTC", "not found: " + err));
        r.Add(("cuBLAS", NativeResolver.TryLoad("cublas", out _, out err) ? (blas.Length > 0 ? blas + NativeResolver.PathOf("cublas") + ")" : NativeResolver.PathOf("cublas")!) : "not found: " + err));
        if (NativeResolver.TryLoad("cudnn", out _, out err))
        {
            try
            {
                long v = (long)Cudnn.cudnnGetVersion();
                string ver = v >= 90000 ? $"{v / 10000}.{v % 10000 / 100}.{v % 100}" : $"{v / 1000}.{v % 1000 / 100}.{v % 100}";
                r.Add(("cuDNN", $"{ver} ({NativeResolver.PathOf("cudnn")})"));
            }
            catch (EntryPointNotFoundException e) { r.Add(("cuDNN", "unusable: " + e.Message)); }
        }
        else r.Add(("cuDNN", "not found: " + err));
        r.Add(("kernel cache", KernelLibrary.CacheDir() ?? "disabled (no writable cache folder)"));
        return r;
    }

    /// <summary>cuBLAS's version number (major*10000 + minor*100 + patch; major*1000 + ... before 11) as text.</summary>
    public static string Semver(int v) => v >= 100000 ? $"{v / 10000}.{v % 10000 / 100}.{v % 100}" : $"{v / 1000}.{v % 1000 / 100}.{v % 100}";
}
