// CUDA backend pieces that need no GPU: the strided geometry handed to kernels, kernel argument
// packing, error messages, the library resolver, and the clear error when no GPU is present.
using System.Runtime.InteropServices;
using Engine.Cuda;
using Engine.Cuda.Native;
using Xunit;

namespace Engine.Tests.Cuda;

public class CudaCoreTests
{
    [Fact]
    public void GeomLayoutMatchesCommonCuh()
    {
        // struct Geom { long long n; int rank; int contiguous; long long shape[8]; long long strides[32]; }
        Assert.Equal(8 + 4 + 4 + 8 * 8 + 32 * 8, Marshal.SizeOf<Geom>());
        Assert.Equal(8, (int)Marshal.OffsetOf<Geom>("Rank"));
        Assert.Equal(16, (int)Marshal.OffsetOf<Geom>("Shape"));
        Assert.Equal(16 + 64, (int)Marshal.OffsetOf<Geom>("Strides"));
        var common = KernelLibrary.Raw("common.cuh");
        Assert.Contains("#define GEOM_MAX_RANK 8", common);
        Assert.Contains("#define GEOM_MAX_OPERANDS 4", common);
    }

    [Fact]
    public unsafe void GeomMergesContiguousDimsAndKeepsStridedOnes()
    {
        var c = Layout.Contiguous([2, 3, 4]);
        var g = Geom.Build("t", [2, 3, 4], c, c);
        Assert.Equal(1, g.Rank);
        Assert.Equal(24, g.N);
        Assert.Equal(1, g.Contiguous);

        // Transposed operand: (3, 4) viewed as (4, 3) with strides (1, 4).
        var t = new Layout([4, 3], [1, 4], 0);
        g = Geom.Build("t", [4, 3], Layout.Contiguous([4, 3]), t);
        Assert.Equal(2, g.Rank);
        Assert.Equal(0, g.Contiguous);
        Assert.Equal(4, g.Shape[0]); Assert.Equal(3, g.Shape[1]);
        Assert.Equal(3, g.Strides[0]); Assert.Equal(1, g.Strides[1]);                 // operand 0
        Assert.Equal(1, g.Strides[Geom.MaxRank]); Assert.Equal(4, g.Strides[Geom.MaxRank + 1]); // operand 1

        // Broadcast (stride 0) row over a (5, 6) output; size-1 dims dropped.
        var b = new Layout([5, 1, 6], [0, 0, 1], 0);
        g = Geom.Build("t", [5, 1, 6], Layout.Contiguous([5, 1, 6]), b);
        Assert.Equal(2, g.Rank);
        Assert.Equal(30, g.N);
        Assert.Equal(0, g.Strides[Geom.MaxRank]);

        // Empty and scalar shapes.
        Assert.Equal(0, Geom.Build("t", [3, 0], Layout.Contiguous([3, 0])).N);
        var s = Geom.Build("t", [], Layout.Contiguous([]));
        Assert.Equal(1, s.N); Assert.Equal(1, s.Rank);
    }

    [Fact]
    public void GeomRejectsTooManyStridedDims()
    {
        int[] shape = [2, 2, 2, 2, 2, 2, 2, 2, 2];
        var strides = new long[9];
        for (int i = 0; i < 9; i++) strides[i] = 1L << (2 * (8 - i)); // gaps everywhere: nothing merges
        var e = Assert.Throws<UnsupportedOpException>(() => Geom.Build("add", shape, new Layout(shape, strides, 0)));
        Assert.Contains("add", e.Message);
        Assert.Contains("9 non-mergeable dims", e.Message);
    }

    [Fact]
    public unsafe void KernelArgsPackValuesAlignedAndPointAtThem()
    {
        var g = new Geom { N = 77, Rank = 1 };
        var a = KernelArgs.Begin().Ptr(0xdeadbeef00UL).I32(-5).F64(2.5).Value(g).F32(1.5f);
        Assert.Equal(5, a.Count);
        Assert.Equal(0xdeadbeef00UL, *(ulong*)a.Arg(0));
        Assert.Equal(-5, *(int*)a.Arg(1));
        Assert.Equal(2.5, *(double*)a.Arg(2));
        Assert.Equal(0, (long)a.Arg(2) % 8);
        Assert.Equal(77, ((Geom*)a.Arg(3))->N);
        Assert.Equal(1.5f, *(float*)a.Arg(4));
        Assert.Equal(0, KernelArgs.Begin().Count);
    }

    [Fact]
    public void CudaExceptionNamesLibraryCallStatusAndOp()
    {
        var e = new CudaException("cublas", "cublasGemmStridedBatchedEx", 7, "CUBLAS_STATUS_INVALID_VALUE", "matmul 1x[2x3]x[3x4] f32");
        Assert.Equal("matmul 1x[2x3]x[3x4] f32: cublas call cublasGemmStridedBatchedEx failed with CUBLAS_STATUS_INVALID_VALUE [7]", e.Message);
    }

    [Fact]
    public void ResolverSearchesCudaPathAndPythonWheels()
    {
        var root = Path.Combine(Path.GetTempPath(), "engine-fakecuda-" + Guid.NewGuid().ToString("N"));
        var old = Environment.GetEnvironmentVariable("CUDA_PATH");
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "lib64"));
            Environment.SetEnvironmentVariable("CUDA_PATH", root);
            Assert.Contains(Path.Combine(root, "lib64"), NativeResolver.SearchDirs());
        }
        finally
        {
            Environment.SetEnvironmentVariable("CUDA_PATH", old);
            Directory.Delete(root, true);
        }
        Assert.Equal(["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"], NativeResolver.Candidates["cublas"]);
        Assert.Equal(["libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"], NativeResolver.Candidates["cudnn"]);
        Assert.Equal(["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"], NativeResolver.Candidates["nvrtc"]);
    }

    [Fact]
    public void WithoutAGpuTheProbeSaysWhyAndTensorsOnCudaFailClearly()
    {
        if (CudaSetup.TryProbe(out _)) Assert.Skip("this machine has a usable GPU; the no-GPU path is not reachable here");
        Assert.False(CudaSetup.TryProbe(out var reason));
        Assert.False(string.IsNullOrWhiteSpace(reason));
        var report = CudaSetup.Report();
        Assert.Contains(report, r => r.label is "driver" or "GPU");
    }
}
