// Current and peak bytes of the device a run trains on: the CPU's native-buffer accounting, or the
// CUDA backend's caching allocator (tensor bytes in use, not the cache the allocator keeps).
using Engine.Cuda;

namespace Engine.Cli.Training;

internal static class DeviceMemory
{
    public static Func<(long Current, long Peak)> Probe(Device device)
    {
        if (device.Type == DeviceType.Cuda && Backends.Get(device) is CudaBackend cuda)
            return () => (cuda.Allocator.CurrentBytes, cuda.Allocator.PeakBytes);
        return () => (CpuMemory.LiveBytes, CpuMemory.PeakBytes);
    }
}
