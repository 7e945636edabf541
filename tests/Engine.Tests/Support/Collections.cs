// Test collections. CpuMemory.LiveBytes is process-wide, so tests asserting on it run alone
// (DisableParallelization runs the collection after the parallel ones, by itself).
using Xunit;

namespace Engine.Tests.Support;

[CollectionDefinition("CpuMemory", DisableParallelization = true)]
public sealed class CpuMemoryCollection;

/// <summary>Tests that change process-wide CPU settings (CpuThreads.Count, native thread pools) run alone.</summary>
[CollectionDefinition("ProcessCpuSettings", DisableParallelization = true)]
public sealed class ProcessCpuSettingsCollection;
