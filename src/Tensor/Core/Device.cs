// A device names where a storage lives. Backends are registered per device type; the CPU
// backend is always present, the CUDA backend registers itself from Engine.Kernels.
namespace Engine;

public enum DeviceType { Cpu, Cuda }

public readonly record struct Device(DeviceType Type, int Index = 0)
{
    public static readonly Device Cpu = new(DeviceType.Cpu, 0);
    public static Device Cuda(int index = 0) => new(DeviceType.Cuda, index);
    public override string ToString() => Type == DeviceType.Cpu ? "cpu" : $"cuda:{Index}";

    public static Device Parse(string s)
    {
        s = s.Trim().ToLowerInvariant();
        if (s == "cpu") return Cpu;
        if (s == "cuda" || s == "gpu") return Cuda(0);
        if (s.StartsWith("cuda:") && int.TryParse(s.AsSpan(5), out int i) && i >= 0) return Cuda(i);
        throw new ArgumentException($"unknown device '{s}' (expected cpu, cuda or cuda:N)");
    }
}
