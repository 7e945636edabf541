// The one check behind every typed-error test: the op throws TEx, the message names each given
// fragment, and no CPU memory was allocated before the throw, even transiently. Callers assert on
// process-wide CpuMemory counters, so their classes belong to the "CpuMemory" collection.
using Xunit;

namespace Engine.Tests.Support;

public static class ErrorAssert
{
    public static TEx Fails<TEx>(Func<object?> op, params string[] mustName) where TEx : EngineException
    {
        // Finalize anything other tests leaked, so the counters move only because of op.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = CpuMemory.LiveBytes;
        CpuMemory.ResetPeak();
        TEx ex;
        try
        {
            var r = op();
            (r as IDisposable)?.Dispose();
            throw new Xunit.Sdk.XunitException($"expected {typeof(TEx).Name}, but the op succeeded");
        }
        catch (TEx e) { ex = e; }
        catch (Xunit.Sdk.XunitException) { throw; }
        catch (Exception e) { throw new Xunit.Sdk.XunitException($"expected {typeof(TEx).Name}, got {e.GetType().Name}: {e.Message}"); }
        Assert.Equal(live, CpuMemory.LiveBytes);
        Assert.True(CpuMemory.PeakBytes == live, $"the failing op allocated {CpuMemory.PeakBytes - live} bytes before throwing: {ex.Message}");
        foreach (var s in mustName)
            Assert.True(ex.Message.Contains(s, StringComparison.Ordinal), $"message does not name '{s}': {ex.Message}");
        return ex;
    }
}
