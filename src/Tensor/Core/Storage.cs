// Storage: a reference-counted buffer owned by one backend. Tensors (views) hold one reference
// each; the buffer is released the moment the last view is disposed — never by the GC on the
// GPU path. CPU storage is native, 64-byte aligned memory behind a SafeHandle (the finalizer is
// only a safety net for leaks; scopes release deterministically).
using System.Runtime.InteropServices;

namespace Engine;

public abstract class Storage
{
    private int _refs = 1;
    public DType DType { get; }
    public long Length { get; }
    public IBackend Backend { get; }
    public Device Device => Backend.Device;
    public long Bytes => Length * DType.Size();
    public bool IsReleased => Volatile.Read(ref _refs) <= 0;

    protected Storage(IBackend backend, DType dtype, long length)
    {
        Backend = backend; DType = dtype; Length = length;
    }

    internal void AddRef()
    {
        while (true)
        {
            int r = Volatile.Read(ref _refs);
            if (r <= 0) throw new ObjectDisposedException("Storage", "storage was already released");
            if (Interlocked.CompareExchange(ref _refs, r + 1, r) == r) return;
        }
    }

    internal void Release()
    {
        if (Interlocked.Decrement(ref _refs) == 0) Free();
    }

    protected abstract void Free();
}

/// <summary>Process-wide accounting of live CPU bytes (tests use it to prove scopes release).</summary>
public static class CpuMemory
{
    private static long _live, _peak;
    public static long LiveBytes => Interlocked.Read(ref _live);
    public static long PeakBytes => Interlocked.Read(ref _peak);
    public static void ResetPeak() => Interlocked.Exchange(ref _peak, Interlocked.Read(ref _live));

    internal static void Add(long bytes)
    {
        long now = Interlocked.Add(ref _live, bytes);
        long p;
        while (now > (p = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, p) != p) { }
    }

    internal static void Sub(long bytes) => Interlocked.Add(ref _live, -bytes);
}

internal sealed unsafe class NativeBuffer : SafeHandle
{
    private readonly long _bytes;
    public NativeBuffer(long bytes, bool zero) : base(IntPtr.Zero, true)
    {
        _bytes = Math.Max(bytes, 1);
        void* p = NativeMemory.AlignedAlloc((nuint)_bytes, 64);
        if (p == null) throw new OutOfMemoryException($"cpu: cannot allocate {bytes} bytes");
        if (zero) NativeMemory.Clear(p, (nuint)_bytes);
        SetHandle((IntPtr)p);
        CpuMemory.Add(_bytes);
    }
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        CpuMemory.Sub(_bytes);
        return true;
    }
}

public sealed unsafe class CpuStorage : Storage
{
    private readonly NativeBuffer _buf;
    public void* Pointer { get; }

    internal CpuStorage(IBackend backend, DType dtype, long length, bool zero) : base(backend, dtype, length)
    {
        _buf = new NativeBuffer(length * dtype.Size(), zero);
        Pointer = (void*)_buf.DangerousGetHandle();
    }

    public T* Ptr<T>() where T : unmanaged => (T*)Pointer;

    public Span<T> Span<T>(long offset, long count) where T : unmanaged
    {
        if (offset < 0 || count < 0 || offset + count > Length * DType.Size() / sizeof(T))
            throw new ArgumentOutOfRangeException(nameof(count), $"span [{offset}, {offset + count}) outside storage of {Length}");
        if (count > int.MaxValue) throw new UnsupportedOpException("cpu span", $"{count} elements exceed a Span's 2^31 limit");
        return new Span<T>((T*)Pointer + offset, (int)count);
    }

    protected override void Free() => _buf.Dispose();
}
