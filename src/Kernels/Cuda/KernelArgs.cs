// Kernel parameters in cuLaunchKernel's form: an array of pointers, each pointing at one
// argument's bytes. Values are packed into one native block (8-byte aligned slots), so building the
// arguments of a launch allocates nothing. One instance per thread, reset by Begin().
using System.Runtime.InteropServices;

namespace Engine.Cuda;

public sealed unsafe class KernelArgs
{
    public const int MaxArgs = 64, MaxBytes = 4096;
    [ThreadStatic] private static KernelArgs? _perThread;

    private readonly byte* _data = (byte*)NativeMemory.AlignedAlloc((nuint)MaxBytes, 16);
    private readonly IntPtr* _ptrs = (IntPtr*)NativeMemory.AlignedAlloc((nuint)(MaxArgs * sizeof(IntPtr)), 16);
    private readonly int[] _sizes = new int[MaxArgs];
    private int _used, _count;

    private KernelArgs() { }

    /// <summary>The calling thread's argument block, emptied.</summary>
    public static KernelArgs Begin()
    {
        var a = _perThread ??= new KernelArgs();
        a._used = 0; a._count = 0;
        return a;
    }

    public int Count => _count;
    public IntPtr* Pointers => _ptrs;

    /// <summary>Argument i's bytes (for runtimes that unpack arguments themselves).</summary>
    public void* Arg(int i) => (void*)_ptrs[i];

    /// <summary>Byte size of argument i as packed (runtimes that check launches against the kernel's signature).</summary>
    public int ArgSize(int i) => _sizes[i];

    public KernelArgs Value<T>(T v) where T : unmanaged
    {
        int align = Math.Min(sizeof(T), 8);
        int at = (_used + align - 1) / align * align;
        if (_count >= MaxArgs || at + sizeof(T) > MaxBytes)
            throw new InvalidOperationException($"kernel arguments exceed {MaxArgs} values / {MaxBytes} bytes");
        *(T*)(_data + at) = v;
        _sizes[_count] = sizeof(T);
        _ptrs[_count++] = (IntPtr)(_data + at);
        _used = at + sizeof(T);
        return this;
    }

    public KernelArgs I32(int v) => Value(v);
    public KernelArgs I64(long v) => Value(v);
    public KernelArgs U64(ulong v) => Value(v);
    public KernelArgs F32(float v) => Value(v);
    public KernelArgs F64(double v) => Value(v);
    /// <summary>A device pointer.</summary>
    public KernelArgs Ptr(ulong devicePtr) => Value(devicePtr);
}
