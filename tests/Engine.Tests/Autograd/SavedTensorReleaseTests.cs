// Saved tensors are released as soon as their node's backward rule has run, not when the graph or
// the scope goes away: a probe node at the start of the chain observes CpuMemory.LiveBytes while
// the backward pass reaches it, after a later node that owned a 16 MB tensor has run.
using Engine.Autograd;
using Xunit;

namespace Engine.Tests.Autograd;

[Collection("CpuMemory")] // LiveBytes is process-wide
public class SavedTensorReleaseTests
{
    [Fact]
    public void OwnedTensorsAreFreedRightAfterTheirRuleRuns()
    {
        const int big = 4 << 20; // 4M floats = 16 MB
        using var scope = TensorScope.Begin();
        var x = new Var(Tensor.FromArray([1.0, 2.0, 3.0], [3]), requiresGrad: true);
        long atProbe = -1;
        var p = F.Record("Probe", x.Data.Clone(), [x], gy => { atProbe = CpuMemory.LiveBytes; return [gy.Clone()]; });
        var saved = Tensor.Zeros([big]); // owned by the next node only
        var q = F.Record("OwnsBig", p.Data.Clone(), [p], gy => [gy.Clone()], saved);
        var loss = F.Sum(q);
        long beforeBackward = CpuMemory.LiveBytes;
        loss.Backward();
        Assert.True(saved.IsDisposed, "the owned tensor outlived its node");
        Assert.True(atProbe >= 0, "the probe's rule did not run");
        // By the time the probe runs, OwnsBig has run and its 16 MB are gone (gradients are tiny).
        Assert.True(atProbe <= beforeBackward - big * 4L + 4096, $"live bytes at the probe {atProbe} vs {beforeBackward} before backward");
        Assert.Equal([1.0, 1.0, 1.0], x.Grad!.ToArray<double>());
    }
}
