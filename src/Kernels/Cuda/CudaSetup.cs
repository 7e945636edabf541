// Entry point of the CUDA backend: probing for a usable GPU and registering the backend factory
// for DeviceType.Cuda with Engine.Backends.
namespace Engine.Cuda;

public static class CudaSetup
{
    /// <summary>Registers the CUDA backend for DeviceType.Cuda (idempotent).</summary>
    public static void Register()
    {
        throw new NotImplementedException("being written");
    }

    /// <summary>The CUDA backend for device <paramref name="ordinal"/> (the factory Register installs).</summary>
    public static IBackend CreateBackend(int ordinal) => throw new NotImplementedException("being written");

    /// <summary>True when CUDA device 0 can be used; otherwise <paramref name="reason"/> says why
    /// (no driver library, no device, driver too old, ...).</summary>
    public static bool TryProbe(out string reason)
    {
        reason = "CUDA runtime not written yet";
        return false;
    }
}
