// Device rows for theories. One test body runs on every device:
//   "cpu"  - the CPU backend (the oracle);
//   "cuda" - the real GPU (cuda:0), skipped with CudaSetup.TryProbe's reason when none is usable;
//   "emu"  - the CUDA backend over the host emulation of its kernels (EmulatedRuntime), registered
//            as cuda:64; skipped when g++ is missing, failed when the kernels do not compile.
// The emulated and the real CUDA backend share DeviceType.Cuda: the factory registered here serves
// index 64 from the emulator and defers every other index to CudaSetup.CreateBackend.
using Engine.Cuda;
using Engine.Tests.Cuda.Emulator;
using Xunit;

namespace Engine.Tests.Support;

public static class TestDevices
{
    public const string Cpu = "cpu", Cuda = "cuda", Emu = "emu";
    public const int EmuOrdinal = 64;
    public static readonly Device EmuDevice = Device.Cuda(EmuOrdinal);

    /// <summary>Every row.</summary>
    public static readonly string[] All = [Cpu, Cuda, Emu];
    /// <summary>The rows checked for parity against the CPU backend.</summary>
    public static readonly string[] Accelerators = [Cuda, Emu];

    public static TheoryData<string> AllRows => new(All);

    private static readonly Lock Gate = new();
    private static bool _registered;
    private static CudaBackend? _emu;

    /// <summary>The device of a row; skips the calling test (Assert.Skip) when the row cannot run here.</summary>
    public static Device Get(string row)
    {
        switch (row)
        {
            case Cpu:
                return Device.Cpu;
            case Cuda:
                if (!CudaSetup.TryProbe(out string reason)) Assert.Skip($"no usable CUDA GPU: {reason}");
                lock (Gate) EnsureRegistered();
                return Device.Cuda(0);
            case Emu:
                EmuBackend();
                return EmuDevice;
            default:
                throw new ArgumentException($"unknown device row '{row}' (expected {string.Join(", ", All)})");
        }
    }

    /// <summary>The emulated CUDA backend (cuda:64); skips or fails the calling test as Get("emu") does.</summary>
    public static CudaBackend EmuBackend()
    {
        var lib = EmulatorLibrary.Get();
        if (lib.SkipReason != null) Assert.Skip(lib.SkipReason);
        if (lib.Error != null) Assert.Fail(lib.Error);
        lock (Gate)
        {
            if (_emu == null)
            {
                _emu = new CudaBackend(new EmulatedRuntime(lib.LibraryPath!, EmuOrdinal), EmuDevice);
                EnsureRegistered();
                // Backends caches the instance, so cuda:64 stays the emulator even if something later
                // replaces the DeviceType.Cuda factory (CudaSetup.Register, for one).
                if (Backends.Get(EmuDevice) != _emu)
                    throw new InvalidOperationException($"{EmuDevice} is served by another backend than the host emulation");
            }
            return _emu;
        }
    }

    /// <summary>The runtime under the emulated backend.</summary>
    public static EmulatedRuntime EmuRuntime => (EmulatedRuntime)EmuBackend().Runtime;

    /// <summary>Installs the combined factory once; the caller holds Gate.</summary>
    private static void EnsureRegistered()
    {
        if (_registered) return;
        Backends.Register(DeviceType.Cuda, i => i == EmuOrdinal
            ? _emu ?? throw new InvalidOperationException($"{EmuDevice} (host emulation) is used before TestDevices.Get(\"emu\") set it up")
            : CudaSetup.CreateBackend(i));
        _registered = true;
    }
}
