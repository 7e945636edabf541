// A GpuRuntime whose "device" is the host: device pointers are host addresses from NativeMemory,
// copies are memcpy, and kernels run in the host emulation library (EmulatorLibrary, cuemu.h).
// It is stricter than a GPU where that is cheap, so kernel and launch-code bugs surface as errors:
// - a launch must pass exactly the kernel's parameter count, each argument with the byte size of
//   the kernel's parameter type, and every pointer argument inside a live allocation (or null);
// - each allocation sits between two 256-byte guard zones checked after every launch and at free
//   (writes past either end are reported with the kernel's name);
// - fresh allocations are filled with 0xff bytes (NaN as f32/f64, -1 as i32), so reads of memory
//   nothing wrote show up in results;
// - copies and memsets must stay inside one live allocation; freeing an unknown pointer throws.
// Launches run synchronously on the calling thread; there is no cuBLAS/cuDNN (Stream is 0).
using System.Runtime.InteropServices;
using System.Text;
using Engine.Cuda;

namespace Engine.Tests.Cuda.Emulator;

public sealed class EmulatorException(string message) : Exception(message);

public sealed unsafe class EmulatedRuntime : GpuRuntime, IGpuBlas
{
    public const int Guard = 256;
    private const byte GuardByte = 0xA5, FreshByte = 0xFF;
    private const int MaxParams = 64;

    private readonly IntPtr _lib;
    private readonly delegate* unmanaged<byte*, uint, uint, uint, uint, uint, uint, uint, void**, byte*, int, int> _launch;
    private readonly delegate* unmanaged<byte*, int*, int*, int, int> _info;
    private readonly delegate* unmanaged<int> _count;
    private readonly delegate* unmanaged<int, byte*> _name;

    private sealed record Alloc(ulong Ptr, long Bytes, IntPtr Raw);
    private readonly SortedList<ulong, Alloc> _allocs = new();
    private readonly Lock _gate = new();
    private long _used, _allocCount, _launches;
    private readonly Dictionary<string, (int[] sizes, int[] kinds)?> _signatures = new();

    public EmulatedRuntime(string libraryPath, int ordinal = 64, int multiprocessors = 4, long totalMemory = 4L << 30)
    {
        _lib = NativeLibrary.Load(libraryPath);
        _launch = (delegate* unmanaged<byte*, uint, uint, uint, uint, uint, uint, uint, void**, byte*, int, int>)NativeLibrary.GetExport(_lib, "emu_launch");
        _info = (delegate* unmanaged<byte*, int*, int*, int, int>)NativeLibrary.GetExport(_lib, "emu_kernel_info");
        _count = (delegate* unmanaged<int>)NativeLibrary.GetExport(_lib, "emu_kernel_count");
        _name = (delegate* unmanaged<int, byte*>)NativeLibrary.GetExport(_lib, "emu_kernel_name");
        Ordinal = ordinal;
        MultiprocessorCount = multiprocessors;
        TotalMemory = totalMemory;
        LibraryPath = libraryPath;
    }

    public string LibraryPath { get; }
    public override string Name => "host emulation";
    public override int Ordinal { get; }
    /// <summary>Small, so that grid-stride loops over test-sized inputs really stride.</summary>
    public override int MultiprocessorCount { get; }
    public override int MaxThreadsPerBlock => 1024;
    public override long TotalMemory { get; }
    public override IntPtr Stream => IntPtr.Zero;

    /// <summary>Allocations not yet freed (for leak checks).</summary>
    public int LiveAllocations { get { lock (_gate) return _allocs.Count; } }
    public long LiveBytes { get { lock (_gate) return _used; } }
    public long AllocationCount { get { lock (_gate) return _allocCount; } }
    public long LaunchCount => Interlocked.Read(ref _launches);

    /// <summary>The kernels the library registered, sorted by name.</summary>
    public string[] Kernels()
    {
        int n = _count();
        var r = new string[n];
        for (int i = 0; i < n; i++) r[i] = Marshal.PtrToStringUTF8((IntPtr)_name(i))!;
        return r;
    }

    // ------------------------------------------------------------------ memory
    public override ulong TryMemAlloc(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = Math.Max(bytes, 1);
        lock (_gate)
        {
            if (_used + size > TotalMemory) return 0;
            _used += size;
            _allocCount++;
        }
        var raw = (byte*)NativeMemory.AlignedAlloc((nuint)(size + 2 * Guard), 256);
        new Span<byte>(raw, Guard).Fill(GuardByte);
        FillBytes(raw + Guard, size, FreshByte);
        new Span<byte>(raw + Guard + size, Guard).Fill(GuardByte);
        ulong p = (ulong)(raw + Guard);
        lock (_gate) _allocs.Add(p, new Alloc(p, size, (IntPtr)raw));
        return p;
    }

    public override void MemFree(ulong ptr)
    {
        Alloc a;
        lock (_gate)
        {
            if (!_allocs.Remove(ptr, out a!))
                throw new EmulatorException($"MemFree(0x{ptr:x}): not a live allocation (double free, or not a pointer from TryMemAlloc)");
            _used -= a.Bytes;
        }
        string? damage = CheckGuards(a);
        NativeMemory.AlignedFree((void*)a.Raw);
        if (damage != null) throw new EmulatorException($"MemFree(0x{ptr:x}): {damage}");
    }

    public override void CopyHtoD(ulong dst, void* src, long bytes)
    {
        Require(dst, bytes, "CopyHtoD destination");
        Buffer.MemoryCopy(src, (void*)dst, bytes, bytes);
    }

    public override void CopyDtoH(void* dst, ulong src, long bytes)
    {
        Require(src, bytes, "CopyDtoH source");
        Buffer.MemoryCopy((void*)src, dst, bytes, bytes);
    }

    public override void CopyDtoD(ulong dst, ulong src, long bytes)
    {
        Require(dst, bytes, "CopyDtoD destination");
        Require(src, bytes, "CopyDtoD source");
        Buffer.MemoryCopy((void*)src, (void*)dst, bytes, bytes);
    }

    public override void MemsetD8(ulong dst, byte value, long bytes)
    {
        Require(dst, bytes, "MemsetD8");
        FillBytes((byte*)dst, bytes, value);
    }

    public override void MemsetD32(ulong dst, uint value, long count)
    {
        Require(dst, count * 4, "MemsetD32");
        if (dst % 4 != 0) throw new EmulatorException($"MemsetD32 at 0x{dst:x}: not 4-byte aligned");
        for (long i = 0; i < count; i += int.MaxValue / 4)
            new Span<uint>((uint*)dst + i, (int)Math.Min(int.MaxValue / 4, count - i)).Fill(value);
    }

    public override void Synchronize() { }

    private static void FillBytes(byte* p, long n, byte v)
    {
        for (long i = 0; i < n; i += int.MaxValue)
            new Span<byte>(p + i, (int)Math.Min(int.MaxValue, n - i)).Fill(v);
    }

    /// <summary>The allocation holding [p, p + bytes] (an empty range may sit at the end), or null.</summary>
    private Alloc? Find(ulong p, long bytes)
    {
        lock (_gate)
        {
            var keys = _allocs.Keys;
            int lo = 0, hi = keys.Count - 1, at = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) / 2;
                if (keys[mid] <= p) { at = mid; lo = mid + 1; } else hi = mid - 1;
            }
            if (at < 0) return null;
            var a = _allocs.Values[at];
            return p + (ulong)bytes <= a.Ptr + (ulong)a.Bytes ? a : null;
        }
    }

    private void Require(ulong p, long bytes, string what)
    {
        if (bytes < 0) throw new EmulatorException($"{what}: negative size {bytes}");
        if (Find(p, bytes) == null)
            throw new EmulatorException($"{what}: [0x{p:x}, +{bytes}) is not inside one live allocation");
    }

    /// <summary>Null when both guard zones are intact; otherwise a description (and the zones are
    /// restored, so one overrun is reported once).</summary>
    private static string? CheckGuards(Alloc a)
    {
        var raw = (byte*)a.Raw;
        int before = new ReadOnlySpan<byte>(raw, Guard).LastIndexOfAnyExcept(GuardByte);
        int after = new ReadOnlySpan<byte>(raw + Guard + a.Bytes, Guard).IndexOfAnyExcept(GuardByte);
        if (before < 0 && after < 0) return null;
        new Span<byte>(raw, Guard).Fill(GuardByte);
        new Span<byte>(raw + Guard + a.Bytes, Guard).Fill(GuardByte);
        var sb = new StringBuilder($"allocation 0x{a.Ptr:x} ({a.Bytes} bytes) was written outside its bounds:");
        if (before >= 0) sb.Append($" {Guard - before} byte(s) before its start");
        if (after >= 0) sb.Append($" at byte {a.Bytes + after} (past its end)");
        return sb.ToString();
    }

    // ------------------------------------------------------------------ launches
    private (int[] sizes, int[] kinds)? Signature(string kernel)
    {
        lock (_signatures)
        {
            if (_signatures.TryGetValue(kernel, out var s)) return s;
            int* sizes = stackalloc int[MaxParams];
            int* kinds = stackalloc int[MaxParams];
            int n;
            var name = Encoding.UTF8.GetBytes(kernel + "\0");
            fixed (byte* pn = name) n = _info(pn, sizes, kinds, MaxParams);
            s = n < 0 ? null : (new Span<int>(sizes, n).ToArray(), new Span<int>(kinds, n).ToArray());
            _signatures[kernel] = s;
            return s;
        }
    }

    public override void Launch(string kernel, Dim3 grid, Dim3 block, int sharedBytes, KernelArgs args)
    {
        string at = $"kernel {kernel} <<<{grid}, {block}, {sharedBytes}>>>";
        var sig = Signature(kernel);
        if (sig == null)
        {
            var known = Kernels();
            throw new EmulatorException($"{at}: kernel not found in the host emulation library {LibraryPath} " +
                $"({known.Length} kernels: {string.Join(", ", known.Take(200))})");
        }
        var (sizes, kinds) = sig.Value;
        if (args.Count != sizes.Length)
            throw new EmulatorException($"{at}: the kernel takes {sizes.Length} parameter(s), the launch passes {args.Count}");
        for (int i = 0; i < sizes.Length; i++)
        {
            if (args.ArgSize(i) != sizes[i])
                throw new EmulatorException($"{at}: parameter {i} is {sizes[i]} bytes in the kernel, the launch passes {args.ArgSize(i)} bytes");
            if (kinds[i] == 1)
            {
                ulong p = *(ulong*)args.Arg(i);
                if (p != 0 && Find(p, 0) == null)
                    throw new EmulatorException($"{at}: pointer parameter {i} (0x{p:x}) is not inside any live allocation");
            }
        }
        if (sharedBytes < 0) throw new EmulatorException($"{at}: negative shared memory size");
        const int errLen = 8192;
        byte* err = stackalloc byte[errLen];
        err[0] = 0;
        var nameBytes = Encoding.UTF8.GetBytes(kernel + "\0");
        int rc;
        fixed (byte* pn = nameBytes)
            rc = _launch(pn, grid.X, grid.Y, grid.Z, block.X, block.Y, block.Z, (uint)sharedBytes, (void**)args.Pointers, err, errLen);
        Interlocked.Increment(ref _launches);
        if (rc != 0) throw new EmulatorException($"{at}: {Marshal.PtrToStringUTF8((IntPtr)err)}");
        lock (_gate)
            foreach (var a in _allocs.Values)
                if (CheckGuards(a) is { } damage) throw new EmulatorException($"after {at}: {damage}");
    }

    /// <summary>Host reference of cublasGemmStridedBatchedEx with cuBLAS's argument rules, so the
    /// backend's row-major -> column-major mapping (op flags, leading dimensions, batch strides) is
    /// checked under emulation exactly as cuBLAS would read it. Every element read must lie in a live
    /// allocation.</summary>
    public int GemmCalls;

    public void GemmStridedBatched(DType dtype, bool transA, bool transB, int m, int n, int k,
        ulong a, int lda, long strideA, ulong b, int ldb, long strideB, ulong c, int ldc, long strideC, int batch, bool tf32, string op)
    {
        string at = $"{op}: emulated cublasGemmStridedBatchedEx(transA={transA}, transB={transB}, m={m}, n={n}, k={k}, lda={lda}, ldb={ldb}, ldc={ldc}, batch={batch})";
        // cuBLAS returns CUBLAS_STATUS_INVALID_VALUE for these.
        if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < Math.Max(1, transA ? k : m) || ldb < Math.Max(1, transB ? n : k) || ldc < Math.Max(1, m))
            throw new CudaException("cublas", "cublasGemmStridedBatchedEx", 7, "CUBLAS_STATUS_INVALID_VALUE", at);
        if (tf32) throw new EmulatorException($"{at}: TF32 requested where the test expects full FP32");
        int size = dtype.Size();
        long Extent(bool t, int rows, int cols, int ld) => (long)ld * ((t ? rows : cols) - 1) + (t ? cols : rows); // elements spanned
        for (int bt = 0; bt < batch; bt++)
        {
            ulong pa = a + (ulong)(bt * strideA * size), pb = b + (ulong)(bt * strideB * size), pc = c + (ulong)(bt * strideC * size);
            if (k > 0 && m > 0) Require(pa, Extent(transA, m, k, lda) * size, $"{at} A[{bt}]");
            if (k > 0 && n > 0) Require(pb, Extent(transB, k, n, ldb) * size, $"{at} B[{bt}]");
            if (m > 0 && n > 0) Require(pc, ((long)ldc * (n - 1) + m) * size, $"{at} C[{bt}]");
            for (int j = 0; j < n; j++)
                for (int i = 0; i < m; i++)
                {
                    double acc = 0;
                    for (int l = 0; l < k; l++)
                    {
                        long ia = transA ? l + (long)i * lda : i + (long)l * lda;
                        long ib = transB ? j + (long)l * ldb : l + (long)j * ldb;
                        acc += dtype == DType.F32 ? (double)((float*)pa)[ia] * ((float*)pb)[ib] : ((double*)pa)[ia] * ((double*)pb)[ib];
                    }
                    long ic = i + (long)j * ldc;
                    if (dtype == DType.F32) ((float*)pc)[ic] = (float)acc; else ((double*)pc)[ic] = acc;
                }
        }
        Interlocked.Increment(ref GemmCalls);
    }

    public override void Dispose()
    {
        lock (_gate)
        {
            foreach (var a in _allocs.Values) NativeMemory.AlignedFree((void*)a.Raw);
            _allocs.Clear();
            _used = 0;
        }
        base.Dispose();
    }
}
