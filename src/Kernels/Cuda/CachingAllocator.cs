// Caching device allocator. Requests are rounded to size classes (512-byte steps up to 1 MiB,
// 2 MiB steps above), freed blocks are kept in per-class free lists and handed to the next request
// of a fitting class instead of going back to the driver (cuMemAlloc/cuMemFree synchronize the
// device and cost tens of microseconds). All work of a backend runs on one stream in order, so a
// block freed on the host while kernels that read it are still queued is safe to reuse for the next
// op: the new user's kernels run after the old ones ("stream-ordered reuse").
// When the driver refuses an allocation the cache is emptied and the request retried once; if it
// still fails, CudaOutOfMemoryException reports the request, the bytes in use and the bytes cached.
namespace Engine.Cuda;

/// <summary>Where the allocator gets raw memory (the GPU runtime; a fake in unit tests).</summary>
public interface IDeviceMemory
{
    /// <summary>Returns 0 when out of memory.</summary>
    ulong TryAlloc(long bytes);
    void Free(ulong ptr);
    long TotalBytes { get; }
}

public sealed class CudaOutOfMemoryException(string device, long requested, long inUse, long cached, long total)
    : EngineException($"{device}: out of memory allocating {Bytes(requested)} ({Bytes(inUse)} in use by tensors, " +
        $"{Bytes(cached)} cached and already returned to the driver for this retry, {Bytes(total)} total). " +
        "Reduce the batch or patch size, or free tensors (dispose them / end their TensorScope).")
{
    public long Requested { get; } = requested;
    public long InUse { get; } = inUse;
    public long Cached { get; } = cached;

    internal static string Bytes(long b) => b >= 1L << 30 ? $"{b / (double)(1L << 30):F2} GiB"
        : b >= 1L << 20 ? $"{b / (double)(1L << 20):F1} MiB" : b >= 1024 ? $"{b / 1024.0:F1} KiB" : $"{b} B";
}

public sealed class CachingAllocator(IDeviceMemory memory, string device = "cuda")
{
    public const long SmallLimit = 1L << 20, SmallStep = 512, LargeStep = 2L << 20;

    /// <summary>A block handed out by the allocator: Ptr is valid until it is freed.</summary>
    public sealed class Block
    {
        internal Block(ulong ptr, long size, long requested) { Ptr = ptr; Size = size; Requested = requested; }
        public ulong Ptr { get; }
        /// <summary>Size class (bytes actually reserved).</summary>
        public long Size { get; }
        public long Requested { get; internal set; }
        internal bool InUse;
    }

    private readonly Dictionary<long, Stack<Block>> _free = new();  // size class -> free blocks (non-empty stacks only)
    private readonly SortedSet<long> _freeSizes = [];                 // the keys of _free, for the large-block range lookup
    private readonly Lock _gate = new();
    private long _inUse, _cached, _peak, _driverAllocs, _hits, _requests;

    /// <summary>Bytes held by live blocks (size classes, i.e. what the tensors occupy on the device).</summary>
    public long CurrentBytes { get { lock (_gate) return _inUse; } }
    /// <summary>Highest CurrentBytes since creation or the last ResetPeak.</summary>
    public long PeakBytes { get { lock (_gate) return _peak; } }
    /// <summary>Bytes in free blocks kept for reuse.</summary>
    public long CachedBytes { get { lock (_gate) return _cached; } }
    /// <summary>Bytes obtained from the driver and not yet returned (in use + cached).</summary>
    public long ReservedBytes { get { lock (_gate) return _inUse + _cached; } }
    public long DriverAllocations { get { lock (_gate) return _driverAllocs; } }
    public long CacheHits { get { lock (_gate) return _hits; } }
    public long Requests { get { lock (_gate) return _requests; } }

    public void ResetPeak() { lock (_gate) _peak = _inUse; }

    /// <summary>The size class a request of <paramref name="bytes"/> is served from.</summary>
    public static long SizeClass(long bytes)
    {
        if (bytes < 0) throw new ArgumentOutOfRangeException(nameof(bytes));
        bytes = Math.Max(bytes, 1);
        long step = bytes <= SmallLimit ? SmallStep : LargeStep;
        return (bytes + step - 1) / step * step;
    }

    /// <summary>Largest cached block a request of class <paramref name="size"/> may take: small
    /// requests only their own class; large ones a block up to 1/8 bigger (at least one step), so
    /// a slightly larger cached block is not wasted yet a small tensor never pins a huge one.</summary>
    public static long MaxFit(long size) => size <= SmallLimit ? size : size + Math.Max(LargeStep, size / 8 / LargeStep * LargeStep);

    public Block Allocate(long bytes)
    {
        long size = SizeClass(bytes);
        lock (_gate)
        {
            _requests++;
            long limit = MaxFit(size);
            // Small classes: the exact class only (one lookup); large: the smallest cached class in [size, limit].
            long found = -1;
            if (size == limit) { if (_free.ContainsKey(size)) found = size; }
            else if (_freeSizes.Count > 0) foreach (long sz in _freeSizes.GetViewBetween(size, limit)) { found = sz; break; }
            if (found >= 0)
            {
                var stack = _free[found];
                var b = stack.Pop();
                if (stack.Count == 0) { _free.Remove(found); _freeSizes.Remove(found); }
                _cached -= b.Size;
                _hits++;
                b.Requested = bytes;
                return Hand(b);
            }
        }
        ulong p = memory.TryAlloc(size);
        if (p == 0)
        {
            long cachedBefore = CachedBytes;
            EmptyCache();
            p = memory.TryAlloc(size);
            if (p == 0)
                lock (_gate) throw new CudaOutOfMemoryException(device, bytes, _inUse, cachedBefore, memory.TotalBytes);
        }
        lock (_gate)
        {
            _driverAllocs++;
            return Hand(new Block(p, size, bytes));
        }
    }

    private Block Hand(Block b)
    {
        b.InUse = true;
        _inUse += b.Size;
        if (_inUse > _peak) _peak = _inUse;
        return b;
    }

    public void Free(Block b)
    {
        lock (_gate)
        {
            if (!b.InUse) throw new InvalidOperationException($"{device}: block 0x{b.Ptr:x} freed twice");
            b.InUse = false;
            _inUse -= b.Size;
            _cached += b.Size;
            if (!_free.TryGetValue(b.Size, out var s)) { _free[b.Size] = s = new Stack<Block>(); _freeSizes.Add(b.Size); }
            s.Push(b);
        }
    }

    /// <summary>Returns every cached (free) block to the driver. Live blocks are untouched.</summary>
    public void EmptyCache()
    {
        List<Block> drop;
        lock (_gate)
        {
            drop = _free.Values.SelectMany(s => s).ToList();
            _free.Clear();
            _freeSizes.Clear();
            _cached = 0;
        }
        foreach (var b in drop) memory.Free(b.Ptr);
    }
}
