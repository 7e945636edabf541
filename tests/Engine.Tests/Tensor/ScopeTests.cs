// Deterministic lifetime: a scope releases its temporaries (memory returns) and keeps what was kept;
// storage shared by views lives until its last view is disposed.
using Engine;
using Xunit;

namespace Engine.Tests.TensorCore;

[Collection("CpuMemory")] // LiveBytes is process-wide: run memory-accounting tests serially
public class ScopeTests
{
    [Fact]
    public void ScopeReleasesTemporariesAndKeepsKept()
    {
        long before = CpuMemory.LiveBytes;
        Tensor kept, temp;
        using (var scope = TensorScope.Begin())
        {
            temp = Tensor.Ones([256, 256]);
            using var doubled = temp * 2.0;
            kept = scope.Keep(doubled + 1.0);
            Assert.True(CpuMemory.LiveBytes >= before + 3 * 256 * 256 * 4);
        }
        Assert.True(temp.IsDisposed);
        Assert.False(kept.IsDisposed);
        Assert.Equal(3f, kept.ToArray<float>()[123]);
        Assert.Equal(before + 256 * 256 * 4, CpuMemory.LiveBytes);
        kept.Dispose();
        Assert.Equal(before, CpuMemory.LiveBytes);
    }

    [Fact]
    public void NestedScopesKeepMovesToTheEnclosingScope()
    {
        long before = CpuMemory.LiveBytes;
        Tensor inner;
        using (TensorScope.Begin())
        {
            using (var s2 = TensorScope.Begin())
            {
                inner = s2.Keep(Tensor.Zeros([1000]));
            }
            Assert.False(inner.IsDisposed);
        }
        Assert.True(inner.IsDisposed);
        Assert.Equal(before, CpuMemory.LiveBytes);
    }

    [Fact]
    public void SuspendCreatesUnownedTensors()
    {
        Tensor p;
        using (TensorScope.Begin())
        {
            using (TensorScope.Suspend()) p = Tensor.Zeros([10]);
            using var t = Tensor.Zeros([10]);
        }
        Assert.False(p.IsDisposed);
        p.Dispose();
    }

    [Fact]
    public void StorageLivesUntilItsLastView()
    {
        long before = CpuMemory.LiveBytes;
        var a = Tensor.Ones([64, 64]);
        var v = a.Narrow(0, 10, 5);
        a.Dispose();
        Assert.False(v.Storage.IsReleased);
        Assert.Equal(1f, v.ToArray<float>()[0]);
        v.Dispose();
        Assert.Equal(before, CpuMemory.LiveBytes);
    }

    [Fact]
    public void ScopesMustNest()
    {
        var outer = TensorScope.Begin();
        var inner = TensorScope.Begin();
        Assert.Throws<InvalidOperationException>(() => outer.Dispose());
        inner.Dispose();
        outer.Dispose();
    }
}
