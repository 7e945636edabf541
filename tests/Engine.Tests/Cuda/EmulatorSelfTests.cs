// The host emulator of the CUDA kernels, tested on its own kernels (Cuda/Emulator/selftest.cu) in a
// library that holds nothing else, so these results do not depend on the engine's kernel files:
// indices, barriers, static and dynamic shared memory, shuffles and votes against CUDA's documented
// semantics, atomics, argument unpacking, rounding intrinsics, and the misuse the emulator must
// report (barrier divergence, shuffles with exited lanes, deadlocks, traps, out-of-bounds writes,
// launches that do not match the kernel's signature). Launches go through EmulatedRuntime.Launch.
using Engine.Cuda;
using Engine.Tests.Cuda.Emulator;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Cuda;

public unsafe class EmulatorSelfTests
{
    private static readonly Lock Gate = new();
    private static EmulatedRuntime? _rt;

    /// <summary>One runtime over the self-test library for the class (skips without g++).</summary>
    private static EmulatedRuntime Rt()
    {
        var lib = EmulatorLibrary.Get(EmulatorLibrary.Contents.SelfTest);
        if (lib.SkipReason != null) Assert.Skip(lib.SkipReason);
        if (lib.Error != null) Assert.Fail(lib.Error);
        lock (Gate) return _rt ??= new EmulatedRuntime(lib.LibraryPath!);
    }

    private static ulong Up<T>(EmulatedRuntime rt, T[] data) where T : unmanaged
    {
        long bytes = (long)data.Length * sizeof(T);
        ulong p = rt.TryMemAlloc(bytes);
        Assert.NotEqual(0UL, p);
        fixed (T* s = data) rt.CopyHtoD(p, s, bytes);
        return p;
    }

    private static T[] Down<T>(EmulatedRuntime rt, ulong p, int n) where T : unmanaged
    {
        var r = new T[n];
        fixed (T* d = r) rt.CopyDtoH(d, p, (long)n * sizeof(T));
        return r;
    }

    private static ulong Zeros<T>(EmulatedRuntime rt, int n) where T : unmanaged => Up(rt, new T[n]);

    private static void Launch(EmulatedRuntime rt, string kernel, Dim3 grid, Dim3 block, int shared, Action<KernelArgs> args)
    {
        var a = KernelArgs.Begin();
        args(a);
        rt.Launch(kernel, grid, block, shared, a);
    }

    [Fact]
    public void LibraryRegistersEveryKernelIncludingMacroGeneratedOnes()
    {
        var k = Rt().Kernels();
        foreach (var name in new[] { "selftest_sum_f32", "selftest_shuffles", "selftest_fill_f32", "selftest_fill_f64", "selftest_fill_i32", "selftest_write_past_end" })
            Assert.Contains(name, k);
        Assert.True(k.SequenceEqual(k.Order(StringComparer.Ordinal)), "kernel names are listed sorted");
    }

    [Theory]
    [InlineData(1, 1, 64)]
    [InlineData(1000, 3, 128)]
    [InlineData(65539, 7, 256)]
    [InlineData(300000, 16, 1024)]
    public void BlockReductionThroughSharedMemoryShufflesAndAtomics(int n, int blocks, int threads)
    {
        var rt = Rt();
        var rng = TestData.Rng(salt: n);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.Next(-4, 5); // integers: every order of summation is exact
        ulong px = Up(rt, x), po = Zeros<float>(rt, 1);
        Launch(rt, "selftest_sum_f32", new Dim3((uint)blocks), new Dim3((uint)threads), threads * 4, a => a.Ptr(px).Ptr(po).I64(n));
        Assert.Equal(x.Sum(), Down<float>(rt, po, 1)[0]);
        rt.MemFree(px); rt.MemFree(po);
    }

    [Fact]
    public void IndexVariablesFollowTheLaunchShape()
    {
        var rt = Rt();
        var grid = new Dim3(2, 3, 2);
        var block = new Dim3(4, 2, 3);
        int threads = 2 * 3 * 2 * 4 * 2 * 3;
        ulong p = Zeros<int>(rt, threads * 12);
        Launch(rt, "selftest_indices", grid, block, 0, a => a.Ptr(p));
        var got = Down<int>(rt, p, threads * 12);
        int t = 0;
        for (uint bz = 0; bz < 2; bz++) for (uint by = 0; by < 3; by++) for (uint bx = 0; bx < 2; bx++)
        for (uint tz = 0; tz < 3; tz++) for (uint ty = 0; ty < 2; ty++) for (uint tx = 0; tx < 4; tx++, t++)
        {
            int[] want = [(int)tx, (int)ty, (int)tz, (int)bx, (int)by, (int)bz, 4, 2, 3, 2, 3, 2];
            Assert.True(want.SequenceEqual(got.Skip(t * 12).Take(12)), $"thread {t}: got [{string.Join(", ", got.Skip(t * 12).Take(12))}], want [{string.Join(", ", want)}]");
        }
        rt.MemFree(p);
    }

    /// <summary>The reference follows the CUDA C++ Programming Guide's description of each intrinsic
    /// (not the emulator's PTX-based formula), for the full warp and for sub-warp widths.</summary>
    [Theory]
    [InlineData(32)]
    [InlineData(16)]
    [InlineData(8)]
    [InlineData(4)]
    [InlineData(1)]
    public void ShufflesAndVotesFollowCudaSemantics(int width)
    {
        var rt = Rt();
        const int threads = 64;
        ulong p = Zeros<int>(rt, threads * 8);
        Launch(rt, "selftest_shuffles", new Dim3(1), new Dim3(threads), 0, a => a.Ptr(p).I32(width));
        var got = Down<int>(rt, p, threads * 8);
        for (int t = 0; t < threads; t++)
        {
            int warp = t / 32 * 32, lane = t % 32, group = lane / width * width;
            int V(int l) => (warp + l) * 10 + 1;
            int own = V(lane);
            int idx(int src) => V(group + src % width);
            int up = lane - group >= 3 ? V(lane - 3) : own;
            int down = lane - group + 3 < width ? V(lane + 3) : own;
            int x = lane ^ 6;
            int xor = x / width > lane / width ? own : V(x); // later groups return the caller's own value
            uint ballot = 0;
            for (int l = 0; l < 32; l++) if ((warp + l) / 3 % 2 == 0) ballot |= 1u << l;
            int x1 = lane ^ 1;
            double dx = (x1 / width > lane / width ? own : V(x1)) + 0.25;
            int[] want = [idx(5), idx(lane + 3), up, down, xor, (int)ballot, 1 + 2 * 1 + 4 * 0, (int)(dx * 4)];
            var row = got.Skip(t * 8).Take(8).ToArray();
            Assert.True(want.SequenceEqual(row), $"width {width}, thread {t}: got [{string.Join(", ", row)}], want [{string.Join(", ", want)}]");
        }
        rt.MemFree(p);
    }

    [Fact]
    public void StaticSharedMemoryIsSharedByTheThreadsOfABlock()
    {
        var rt = Rt();
        const int blocks = 3, threads = 128;
        var x = Enumerable.Range(1000, blocks * threads).ToArray();
        ulong pi = Up(rt, x), po = Zeros<int>(rt, x.Length);
        Launch(rt, "selftest_reverse_i32", new Dim3(blocks), new Dim3(threads), 0, a => a.Ptr(pi).Ptr(po));
        var got = Down<int>(rt, po, x.Length);
        for (int b = 0; b < blocks; b++)
            for (int t = 0; t < threads; t++)
                Assert.Equal(x[b * threads + threads - 1 - t], got[b * threads + t]);
        // Without the barrier the same kernel reads slots other threads have not written yet.
        ulong pz = Zeros<int>(rt, x.Length);
        Launch(rt, "selftest_reverse_nobarrier_i32", new Dim3(blocks), new Dim3(threads), 0, a => a.Ptr(pi).Ptr(pz));
        var racy = Down<int>(rt, pz, x.Length);
        Assert.False(racy.SequenceEqual(got), "a missing __syncthreads went unnoticed");
        rt.MemFree(pi); rt.MemFree(po); rt.MemFree(pz);
    }

    [Fact]
    public void AtomicsOfEveryTypeAccumulateAcrossBlocks()
    {
        var rt = Rt();
        const int blocks = 5, threads = 96, n = blocks * threads;
        ulong ci = Zeros<int>(rt, 1), cu = Zeros<ulong>(rt, 1), cd = Zeros<double>(rt, 1), cf = Zeros<float>(rt, 1);
        ulong mx = Up(rt, new[] { -1 }), inc = Zeros<uint>(rt, 1), mn = Up(rt, new[] { 1000 });
        Launch(rt, "selftest_atomics", new Dim3(blocks), new Dim3(threads), 0, a => a.Ptr(ci).Ptr(cu).Ptr(cd).Ptr(cf).Ptr(mx).Ptr(inc).Ptr(mn));
        Assert.Equal(3 * n, Down<int>(rt, ci, 1)[0]); // atomicAdd 1 and a CAS loop adding 2
        Assert.Equal((ulong)n * (n - 1) / 2, Down<ulong>(rt, cu, 1)[0]);
        Assert.Equal(n * 0.5, Down<double>(rt, cd, 1)[0]);
        Assert.Equal((float)n, Down<float>(rt, cf, 1)[0]);
        Assert.Equal(Enumerable.Range(0, n).Max(g => g * 7 % 1000), Down<int>(rt, mx, 1)[0]);
        Assert.Equal(500 - (n - 1), Down<int>(rt, mn, 1)[0]);
        Assert.Equal((uint)(n % 10), Down<uint>(rt, inc, 1)[0]); // atomicInc wraps to 0 past 9
        foreach (var p in new[] { ci, cu, cd, cf, mx, inc, mn }) rt.MemFree(p);
    }

    [Fact]
    public void BlockWideVotes()
    {
        var rt = Rt();
        ulong p = Zeros<int>(rt, 4);
        Launch(rt, "selftest_block_votes", new Dim3(1), new Dim3(100), 0, a => a.Ptr(p));
        Assert.Equal([34, 1, 1, 0], Down<int>(rt, p, 4));
        rt.MemFree(p);
    }

    [Fact]
    public void ArgumentsOfEveryKindArriveIntact()
    {
        var rt = Rt();
        var built = Geom.Build("selftest", [3, 1, 5], Layout.Contiguous([3, 1, 5]), new Layout([3, 1, 5], [1L, 15, 3], 0));
        built.Shape[7] = 77;
        built.Strides[3 * Geom.MaxRank + 7] = -99;
        var g = built;
        ulong p = Zeros<ulong>(rt, 9);
        Launch(rt, "selftest_args", new Dim3(1), new Dim3(32), 0, a => a.I64(-1234567890123L).I32(-7).F64(Math.PI).Value(g).F32(2.5f).Ptr(p));
        var r = Down<ulong>(rt, p, 9);
        Assert.Equal(-1234567890123L, (long)r[0]);
        Assert.Equal(-7L, (long)r[1]);
        Assert.Equal(BitConverter.DoubleToInt64Bits(Math.PI), (long)r[2]);
        Assert.Equal(g.N, (long)r[3]);
        Assert.Equal(g.Rank, (long)r[4]);
        Assert.Equal(g.Contiguous, (long)r[5]);
        Assert.Equal(77L, (long)r[6]);
        Assert.Equal(-99L, (long)r[7]);
        Assert.Equal(BitConverter.SingleToUInt32Bits(2.5f), (uint)r[8]);
        rt.MemFree(p);
    }

    [Fact]
    public void FillKernelsStrideOverTheGrid()
    {
        var rt = Rt();
        const int n = 10_000; // 4 blocks of 64 threads: each thread visits ~39 elements
        ulong pf = Zeros<float>(rt, n), pd = Zeros<double>(rt, n), pi = Zeros<int>(rt, n);
        Launch(rt, "selftest_fill_f32", new Dim3(4), new Dim3(64), 0, a => a.Ptr(pf).F32(1.5f).I64(n));
        Launch(rt, "selftest_fill_f64", new Dim3(4), new Dim3(64), 0, a => a.Ptr(pd).F64(-2.25).I64(n));
        Launch(rt, "selftest_fill_i32", new Dim3(4), new Dim3(64), 0, a => a.Ptr(pi).I32(42).I64(n));
        Assert.All(Down<float>(rt, pf, n), v => Assert.Equal(1.5f, v));
        Assert.All(Down<double>(rt, pd, n), v => Assert.Equal(-2.25, v));
        Assert.All(Down<int>(rt, pi, n), v => Assert.Equal(42, v));
        rt.MemFree(pf); rt.MemFree(pd); rt.MemFree(pi);
    }

    /// <summary>__fadd_rn(__fmul_rn(a, b), c) rounds twice even where the build contracts a * b + c
    /// into an FMA (as NVRTC does by default): bitwise equal to C#'s separately rounded a * b + c.</summary>
    [Fact]
    public void RoundedIntrinsicsAreNeverContracted()
    {
        var rt = Rt();
        const int n = 4096;
        var rng = TestData.Rng();
        var a = TestData.Floats(rng, n, -3, 3); var b = TestData.Floats(rng, n, -3, 3); var c = TestData.Floats(rng, n, -3, 3);
        var ad = TestData.Doubles(rng, n, -3, 3);
        ulong pa = Up(rt, a), pb = Up(rt, b), pc = Up(rt, c), py = Zeros<float>(rt, n), pad = Up(rt, ad), pyd = Zeros<double>(rt, n);
        Launch(rt, "selftest_rounded", new Dim3(2), new Dim3(128), 0, x => x.Ptr(pa).Ptr(pb).Ptr(pc).Ptr(py).Ptr(pad).Ptr(pyd).I32(n));
        var y = Down<float>(rt, py, n);
        var yd = Down<double>(rt, pyd, n);
        for (int i = 0; i < n; i++)
        {
            float prod = a[i] * b[i];
            Assert.Equal(BitConverter.SingleToInt32Bits(prod + c[i]), BitConverter.SingleToInt32Bits(y[i]));
            double pd = ad[i] * ad[i];
            Assert.Equal(BitConverter.DoubleToInt64Bits(pd + ad[i]), BitConverter.DoubleToInt64Bits(yd[i]));
        }
        foreach (var p in new[] { pa, pb, pc, py, pad, pyd }) rt.MemFree(p);
    }

    [Fact]
    public void ThreadsHaveRoomForLargeStackFrames()
    {
        var rt = Rt();
        var x = Enumerable.Range(0, 64).ToArray();
        ulong pi = Up(rt, x), po = Zeros<int>(rt, 64);
        Launch(rt, "selftest_stack", new Dim3(1), new Dim3(64), 0, a => a.Ptr(pi).Ptr(po));
        var got = Down<int>(rt, po, 64);
        for (int t = 0; t < 64; t++) Assert.Equal(8192 * t + 8191 * 8192 / 2, got[t]);
        rt.MemFree(pi); rt.MemFree(po);
    }

    [Fact]
    public void UnwrittenDynamicSharedMemoryReadsAsNaN()
    {
        var rt = Rt();
        ulong p = Zeros<float>(rt, 32);
        Launch(rt, "selftest_uninit_shared", new Dim3(1), new Dim3(32), 32 * 4, a => a.Ptr(p));
        Assert.All(Down<float>(rt, p, 32), v => Assert.True(float.IsNaN(v)));
        rt.MemFree(p);
    }

    [Fact]
    public void FreshAllocationsArePoisoned()
    {
        var rt = Rt();
        ulong p = rt.TryMemAlloc(64);
        Assert.All(Down<byte>(rt, p, 64), v => Assert.Equal((byte)0xff, v));
        Assert.Equal(0UL, p % 256);
        rt.MemFree(p);
    }

    // ------------------------------------------------------------------ misuse
    private static EmulatorException Fails(string kernel, Dim3 grid, Dim3 block, int shared, Action<KernelArgs> args, params string[] expect)
    {
        var rt = Rt();
        var e = Assert.Throws<EmulatorException>(() => Launch(rt, kernel, grid, block, shared, args));
        foreach (var s in expect) Assert.Contains(s, e.Message);
        return e;
    }

    [Fact]
    public void ReportsBarrierDivergence()
    {
        var rt = Rt();
        ulong p = Zeros<int>(rt, 2);
        Fails("selftest_divergent_barrier", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p),
            "barrier divergence", "selftest_divergent_barrier", "selftest.cu:", "thread 0", "thread 16");
        rt.MemFree(p);
    }

    [Fact]
    public void ReportsShuffleWithAnExitedLane()
    {
        var rt = Rt();
        ulong p = Zeros<float>(rt, 32);
        Fails("selftest_shfl_after_exit", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p), "__shfl_down_sync", "lane 5", "exited");
        rt.MemFree(p);
    }

    [Fact]
    public void ReportsDeadlockBetweenWarpAndBlockBarriers()
    {
        var rt = Rt();
        ulong p = Zeros<int>(rt, 32);
        Fails("selftest_warp_vs_block", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p),
            "deadlock", "threads 0-15 wait at __syncthreads", "threads 16-31 wait at __shfl_xor_sync");
        rt.MemFree(p);
    }

    [Fact]
    public void ReportsTrapsAndAssertions()
    {
        var rt = Rt();
        ulong p = Zeros<int>(rt, 4);
        Fails("selftest_trap", new Dim3(2), new Dim3(32), 0, a => a.Ptr(p), "__trap()", "block (1, 0, 0)", "thread 3");
        ulong q = Up(rt, new[] { 1, 2, -3, 4 });
        Fails("selftest_assert", new Dim3(1), new Dim3(4), 0, a => a.Ptr(q), "assertion failed: x[threadIdx.x] >= 0", "thread 2");
        rt.MemFree(p); rt.MemFree(q);
    }

    [Fact]
    public void ReportsWritesPastTheEndOfAnAllocation()
    {
        var rt = Rt();
        ulong p = Zeros<float>(rt, 10);
        Fails("selftest_write_past_end", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).I64(10), "selftest_write_past_end", "past its end", "byte 40");
        rt.MemFree(p); // the guard was restored when reported
    }

    /// <summary>Wild pointers, integer division by zero and stack overflow in an emulated thread fail
    /// the launch with the kernel, block and thread; the process (and the next launch) carry on.</summary>
    [Fact]
    public void ReportsFaultsInsideKernels()
    {
        var rt = Rt();
        ulong p = Zeros<float>(rt, 32);
        for (int round = 0; round < 2; round++) // a caught fault leaves the thread able to catch the next
        {
            Fails("selftest_wild_pointer", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).I64(16), "invalid memory access", "0x10", "thread 7");
            ulong pa = Up(rt, new[] { 6, 7, 8, 9 }), pb = Up(rt, new[] { 3, 1, 0, 2 }), po = Zeros<int>(rt, 4);
            Fails("selftest_divide", new Dim3(1), new Dim3(4), 0, a => a.Ptr(pa).Ptr(pb).Ptr(po), "integer division by zero", "thread 2");
            Fails("selftest_stack_overflow", new Dim3(1), new Dim3(2), 0, a => a.Ptr(po), "stack overflow");
            rt.MemFree(pa); rt.MemFree(pb); rt.MemFree(po);
        }
        Launch(rt, "selftest_fill_f32", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).F32(3).I64(32));
        Assert.All(Down<float>(rt, p, 32), v => Assert.Equal(3f, v));
        object? o = null;
        Assert.Throws<NullReferenceException>(() => o!.ToString()); // .NET's own fault handling still works
        rt.MemFree(p);
    }

    [Fact]
    public void LaunchesMustMatchTheKernelSignature()
    {
        var rt = Rt();
        ulong p = Zeros<float>(rt, 64);
        Fails("selftest_fill_f32", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).F32(1), "takes 3 parameter(s), the launch passes 2");
        Fails("selftest_fill_f32", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).F32(1).I32(64), "parameter 2 is 8 bytes in the kernel, the launch passes 4 bytes");
        Fails("selftest_fill_f32", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p).F64(1).I64(64), "parameter 1 is 4 bytes");
        Fails("selftest_fill_f32", new Dim3(1), new Dim3(32), 0, a => a.Ptr(16).F32(1).I64(1), "pointer parameter 0 (0x10)", "not inside any live allocation");
        Fails("selftest_no_such_kernel", new Dim3(1), new Dim3(32), 0, a => a.Ptr(p), "not found", "selftest_fill_f32");
        Fails("selftest_fill_f32", new Dim3(1), new Dim3(1025), 0, a => a.Ptr(p).F32(1).I64(64), "exceeds the limits");
        Fails("selftest_fill_f32", new Dim3(0), new Dim3(32), 0, a => a.Ptr(p).F32(1).I64(64), "empty launch");
        Fails("selftest_uninit_shared", new Dim3(1), new Dim3(32), 64 * 1024, a => a.Ptr(p), "dynamic shared memory");
        rt.MemFree(p);
    }

    [Fact]
    public void MemoryCallsMustStayInsideLiveAllocations()
    {
        var rt = Rt();
        ulong p = rt.TryMemAlloc(100);
        var host = (byte*)System.Runtime.InteropServices.NativeMemory.Alloc(200);
        try
        {
            Assert.Throws<EmulatorException>(() => rt.CopyHtoD(p, host, 101));
            Assert.Throws<EmulatorException>(() => rt.CopyDtoH(host, p + 50, 60));
            Assert.Throws<EmulatorException>(() => rt.MemsetD8(p - 1, 0, 2));
            rt.CopyHtoD(p + 100, host, 0); // an empty copy at the end is fine
        }
        finally { System.Runtime.InteropServices.NativeMemory.Free(host); }
        rt.MemFree(p);
        Assert.Contains("not a live allocation", Assert.Throws<EmulatorException>(() => rt.MemFree(p)).Message);
        Assert.Equal(0UL, new EmulatedRuntime(rt.LibraryPath, totalMemory: 1000).TryMemAlloc(2000));
    }

    /// <summary>Concurrent launches from several OS threads keep their own block state.</summary>
    [Fact]
    public void LaunchesFromSeveralThreadsAreIndependent()
    {
        var rt = Rt();
        Parallel.For(0, 8, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            int n = 5000 + 731 * i;
            var x = Enumerable.Range(0, n).Select(v => (float)(v % 7 - 3)).ToArray();
            ulong px = Up(rt, x), po = Zeros<float>(rt, 1);
            Launch(rt, "selftest_sum_f32", new Dim3(3), new Dim3(128), 512, a => a.Ptr(px).Ptr(po).I64(n));
            Assert.Equal(x.Sum(), Down<float>(rt, po, 1)[0]);
            rt.MemFree(px); rt.MemFree(po);
        });
    }

    /// <summary>The CUDA backend over an emulated runtime: storages go back to the caching allocator,
    /// and emptying the cache returns every allocation to the runtime.</summary>
    [Fact]
    public void BackendReturnsEveryAllocation()
    {
        var lib = EmulatorLibrary.Get(EmulatorLibrary.Contents.SelfTest);
        if (lib.SkipReason != null) Assert.Skip(lib.SkipReason);
        using var rt = new EmulatedRuntime(lib.LibraryPath!, ordinal: 65);
        var backend = new CudaBackend(rt, Device.Cuda(65));
        var storages = new List<CudaStorage>();
        foreach (int n in new[] { 1, 100, 1000, 300_000 })
            storages.Add((CudaStorage)backend.Allocate(DType.F32, n, zero: true));
        var zeros = new float[100];
        fixed (float* z = zeros) rt.CopyDtoH(z, storages[1].Ptr, 400);
        Assert.All(zeros, v => Assert.Equal(0f, v));
        Assert.Equal(4, rt.LiveAllocations);
        foreach (var s in storages) s.Dispose();
        Assert.Equal(4, rt.LiveAllocations); // cached for reuse
        backend.Allocator.EmptyCache();
        Assert.Equal(0, rt.LiveAllocations);
        Assert.Equal(0, rt.LiveBytes);
    }

    // ------------------------------------------------------------------ the build
    /// <summary>The library behind the "emu" device rows: every kernels-cu file compiles (g++'s
    /// message otherwise) and contributes kernels, next to the self-test kernels.</summary>
    [Fact]
    public void KernelLibraryHoldsEveryKernelFile()
    {
        var rt = TestDevices.EmuRuntime;
        var names = rt.Kernels();
        Assert.Contains("selftest_sum_f32", names);
        var lib = EmulatorLibrary.Get();
        int files = lib.Units.Count(u => u.StartsWith("src/Kernels/kernels-cu/", StringComparison.Ordinal));
        int selftest = Rt().Kernels().Length;
        Assert.True(files == 0 || names.Length > selftest, $"{files} kernel file(s) compiled but no kernel beyond the self-test ones was registered");
    }

    [Fact]
    public void SourceRewriteKeepsLineNumbers()
    {
        string src = "a\nextern __shared__ __align__(16)\n  unsigned char smem[];\nb\nstatic __shared__ float s[4];\nextern __shared__ float2 v[ ];";
        string r = EmulatorLibrary.RewriteSource(src);
        Assert.Equal(src.Count(c => c == '\n'), r.Count(c => c == '\n'));
        Assert.Contains("CUEMU_DYNAMIC_SHARED(unsigned char, smem);", r);
        Assert.Contains("CUEMU_DYNAMIC_SHARED(float2, v);", r);
        Assert.Contains("\n__shared__ float s[4];", r);
        Assert.Equal("b", r.Split('\n')[3]);
    }

    [Fact]
    public void KernelScanSkipsTemplatesAndCxxLinkage()
    {
        const string g = "__attribute__((noinline, used))";
        string pre = $"extern \"C\" {g} void k1(int* p) {{ }}\n# 12 \"x.cu\"\ntemplate <class T> {g} void k2(T* p) {{ }}\n" +
                     $"{g} void k3(int* p) {{ }}\nextern \"C\" {g}\n void k4\n(float a);\nextern \"C\" {g} void k4(float a) {{ }}\n";
        Assert.Equal(["k1", "k4"], EmulatorLibrary.FindKernels(pre));
    }

    /// <summary>A kernel that does not compile fails the build with g++'s message naming the file and line.</summary>
    [Fact]
    public void CompileErrorsCarryTheCompilerMessage()
    {
        if (EmulatorLibrary.FindCompiler() == null) Assert.Skip("g++ not on PATH");
        var r = EmulatorLibrary.BuildSources([("src/Kernels/kernels-cu/broken.cu",
            "extern \"C\" __global__ void broken_f32(float* p)\n{\n    p[threadIdx.x] = undefined_name;\n}\n")]);
        Assert.False(r.Ok);
        Assert.Null(r.SkipReason);
        Assert.Contains("src/Kernels/kernels-cu/broken.cu:3", r.Error);
        Assert.Contains("undefined_name", r.Error);
    }
}
