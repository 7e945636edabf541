// Registry of backends by device type. The CPU backend is built in; Engine.Kernels registers the
// CUDA backend (the CLI calls its Register at start-up), so callers never change.
using Engine.Cpu;

namespace Engine;

public static class Backends
{
    private static readonly Dictionary<DeviceType, Func<int, IBackend>> Factories = new();
    private static readonly Dictionary<Device, IBackend> Instances = new();
    private static readonly Lock Gate = new();

    public static IBackend Get(Device device)
    {
        if (device.Type == DeviceType.Cpu) return CpuBackend.Instance;
        lock (Gate)
        {
            if (Instances.TryGetValue(device, out var b)) return b;
            if (!Factories.TryGetValue(device.Type, out var f))
                throw new UnsupportedOpException("device", $"no backend registered for {device} (is the CUDA backend registered and a GPU present?)");
            b = f(device.Index);
            Instances[device] = b;
            return b;
        }
    }

    public static void Register(DeviceType type, Func<int, IBackend> factory)
    {
        lock (Gate) Factories[type] = factory;
    }

    public static bool IsRegistered(DeviceType type) => type == DeviceType.Cpu || Factories.ContainsKey(type);
}
