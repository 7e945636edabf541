// The caching allocator's logic on a fake device memory (no GPU): size classes, reuse of freed
// blocks, statistics, empty-cache, and the out-of-memory path (cache emptied, retried, then a
// typed error naming the request, the bytes in use and the bytes cached).
using Engine.Cuda;
using Xunit;

namespace Engine.Tests.Cuda;

public class CachingAllocatorTests
{
    /// <summary>Device memory with a capacity; hands out increasing fake addresses and records calls.</summary>
    private sealed class FakeMemory(long capacity) : IDeviceMemory
    {
        private ulong _next = 0x1000_0000;
        public readonly Dictionary<ulong, long> Live = new();
        public int Allocs, Frees;
        public long Used => Live.Values.Sum();
        public long TotalBytes => capacity;
        public ulong TryAlloc(long bytes)
        {
            if (Used + bytes > capacity) return 0;
            Allocs++;
            ulong p = _next; _next += (ulong)bytes + 4096;
            Live[p] = bytes;
            return p;
        }
        public void Free(ulong ptr) { Frees++; Assert.True(Live.Remove(ptr), $"free of unknown 0x{ptr:x}"); }
    }

    [Theory]
    [InlineData(0, 512)]
    [InlineData(1, 512)]
    [InlineData(512, 512)]
    [InlineData(513, 1024)]
    [InlineData(1 << 20, 1 << 20)]
    [InlineData((1 << 20) + 1, 2 << 20)]
    [InlineData(5 << 20, 6 << 20)]
    public void SizeClasses(long bytes, long cls) => Assert.Equal(cls, CachingAllocator.SizeClass(bytes));

    [Fact]
    public void FreedBlocksAreReusedWithoutTheDriver()
    {
        var mem = new FakeMemory(1L << 30);
        var a = new CachingAllocator(mem);
        var b1 = a.Allocate(1000);
        ulong p = b1.Ptr;
        a.Free(b1);
        Assert.Equal(1024, a.CachedBytes);
        Assert.Equal(0, a.CurrentBytes);
        var b2 = a.Allocate(900); // same class (1024)
        Assert.Equal(p, b2.Ptr);
        Assert.Equal(1, mem.Allocs);
        Assert.Equal(1, a.CacheHits);
        Assert.Equal(2, a.Requests);
        Assert.Equal(0, a.CachedBytes);
        var b3 = a.Allocate(1000); // the cached block is taken: a new one
        Assert.NotEqual(p, b3.Ptr);
        Assert.Equal(2, mem.Allocs);
    }

    [Fact]
    public void SmallRequestsNeverTakeALargerClass()
    {
        var mem = new FakeMemory(1L << 30);
        var a = new CachingAllocator(mem);
        a.Free(a.Allocate(4096));
        var b = a.Allocate(512);
        Assert.Equal(512, b.Size);
        Assert.Equal(2, mem.Allocs);
        Assert.Equal(4096, a.CachedBytes);
    }

    [Fact]
    public void LargeRequestsTakeASlightlyLargerCachedBlockButNotAHugeOne()
    {
        var mem = new FakeMemory(1L << 34);
        var a = new CachingAllocator(mem);
        var big = a.Allocate(64L << 20);
        a.Free(big);
        var near = a.Allocate(60L << 20);       // 60 MiB class may take the 64 MiB block (within 1/8)
        Assert.Equal(big.Ptr, near.Ptr);
        a.Free(near);
        var small = a.Allocate(8L << 20);       // 8 MiB must not pin the 64 MiB block
        Assert.NotEqual(big.Ptr, small.Ptr);
        Assert.Equal(8L << 20, small.Size);
    }

    [Fact]
    public void StatisticsTrackCurrentPeakAndReserved()
    {
        var mem = new FakeMemory(1L << 30);
        var a = new CachingAllocator(mem);
        var x = a.Allocate(3L << 20);
        var y = a.Allocate(1000);
        Assert.Equal((4L << 20) + 1024, a.CurrentBytes);
        a.Free(x);
        Assert.Equal(1024, a.CurrentBytes);
        Assert.Equal((4L << 20) + 1024, a.PeakBytes);
        Assert.Equal((4L << 20) + 1024, a.ReservedBytes);
        a.ResetPeak();
        Assert.Equal(1024, a.PeakBytes);
        a.EmptyCache();
        Assert.Equal(0, a.CachedBytes);
        Assert.Equal(1024, a.ReservedBytes);
        Assert.Single(mem.Live);
        a.Free(y);
        a.EmptyCache();
        Assert.Empty(mem.Live);
        Assert.Equal(mem.Allocs, mem.Frees);
    }

    [Fact]
    public void DoubleFreeIsAnError()
    {
        var a = new CachingAllocator(new FakeMemory(1 << 20));
        var b = a.Allocate(10);
        a.Free(b);
        Assert.Throws<InvalidOperationException>(() => a.Free(b));
    }

    [Fact]
    public void OutOfMemoryEmptiesTheCacheRetriesThenReports()
    {
        var mem = new FakeMemory(10L << 20);
        var a = new CachingAllocator(mem, "cuda:0");
        var keep = a.Allocate(4L << 20);
        a.Free(a.Allocate(4L << 20)); // 4 MiB cached, 8 MiB reserved
        var c = a.Allocate(6L << 20); // does not fit beside the cached block: cache emptied, retried, succeeds
        Assert.Equal(0, a.CachedBytes);
        Assert.Equal(10L << 20, a.CurrentBytes);
        var e = Assert.Throws<CudaOutOfMemoryException>(() => a.Allocate(1L << 20));
        Assert.Equal(1L << 20, e.Requested);
        Assert.Equal(10L << 20, e.InUse);
        Assert.Contains("cuda:0: out of memory allocating 1.0 MiB", e.Message);
        Assert.Contains("10.0 MiB in use", e.Message);
        a.Free(keep); a.Free(c);
    }
}
