// Files written by the independent Python reference (Checkpoint/safetensors_ref.py gen, numpy;
// expected values in Checkpoint/golden.json) load with the exact values: F32/F64/I32 as they
// are, F16/BF16 converted to F32 (subnormals, -0, inf and NaN included), I64/U8/I8/BOOL to I32;
// the header reader reports the same dtypes, shapes, offsets and metadata; a valid file in an
// order unlike ours (no padding, unaligned offsets, reversed keys) loads too.
// Regenerate: /usr/bin/python3 tests/Engine.Tests/Checkpoint/safetensors_ref.py gen tests/Engine.Tests/Checkpoint
using System.Text.Json;
using Engine.Models.Checkpoint;
using Xunit;
using static Engine.Tests.Checkpoint.CheckpointTestSupport;

namespace Engine.Tests.Checkpoint;

public class SafeTensorsGoldenTests
{
    private static readonly Lazy<JsonDocument> Doc = new(() => JsonDocument.Parse(File.ReadAllText(Golden("golden.json"))));

    private static JsonElement FileCase(string file) => Doc.Value.RootElement.GetProperty("files").GetProperty(file);

    public static TheoryData<string> Files() => new("golden_mixed.safetensors", "golden_unordered.safetensors");

    private static readonly SafeTensorsLoadOptions Convert = new() { ConvertHalfToF32 = true, ConvertIntegersToI32 = true };

    [Theory]
    [MemberData(nameof(Files))]
    public void Load_WithConversions_GivesTheReferenceValues(string file)
    {
        var (expected, meta) = ReadExpected(FileCase(file));
        using var scope = TensorScope.Begin();
        var (tensors, metadata) = SafeTensors.Load(Golden(file), Convert);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, e) in expected) AssertTensor(name, e, tensors[name]);
        Assert.Equal(meta, metadata);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void ReadHeader_ReportsDTypesShapesOffsetsAndMetadata(string file)
    {
        var (expected, meta) = ReadExpected(FileCase(file));
        var h = SafeTensors.ReadHeader(Golden(file));
        Assert.Equal(new FileInfo(Golden(file)).Length, h.FileBytes);
        Assert.Equal(expected.Count, h.Tensors.Count);
        foreach (var (name, e) in expected)
        {
            var entry = h[name];
            Assert.Equal(e.DType, entry.DType.Name());
            Assert.Equal(e.Shape, entry.Shape);
            Assert.Equal(e.Offsets, new[] { entry.Begin, entry.End });
            Assert.Equal(e.Raw!.Length, entry.Bytes);
            Assert.Equal(e.Values.Length, entry.Numel);
        }
        // entries come in data order
        Assert.True(h.Tensors.Zip(h.Tensors.Skip(1)).All(p => p.First.End == p.Second.Begin));
        Assert.Equal(meta, h.Metadata);
        Assert.False(h.Contains("__metadata__"));
        var ex = Assert.Throws<InvalidArgumentException>(() => h["no.such"]);
        Assert.Contains("no.such", ex.Message);
    }

    [Fact]
    public void Mixed_ScalarAndZeroSizeTensors_KeepTheirShapes()
    {
        using var scope = TensorScope.Begin();
        var (t, _) = SafeTensors.Load(Golden("golden_mixed.safetensors"), Convert);
        Assert.Empty(t["scalar.temperature"].Shape);
        Assert.Equal(0.75, t["scalar.temperature"].Item());
        Assert.Equal([0], t["empty.bias"].Shape);
        Assert.Equal([2, 0, 3], t["empty.grid"].Shape);
        Assert.Equal(DType.F64, t["empty.grid"].DType);
    }

    [Fact]
    public void Mixed_WithoutConversions_FailsNamingTheFirstForeignTensorAndTheOption()
    {
        string path = Golden("golden_mixed.safetensors");
        // data order: i64.steps (offset 0) is the first tensor the engine has no type for
        var ex = Assert.Throws<CheckpointDTypeException>(() => SafeTensors.Load(path));
        Assert.Equal(("i64.steps", "I64"), (ex.Tensor, ex.DType));
        Assert.Contains("golden_mixed.safetensors", ex.Message);
        Assert.Contains("ConvertIntegersToI32", ex.Message);

        var ex2 = Assert.Throws<CheckpointDTypeException>(() => SafeTensors.Load(path, new SafeTensorsLoadOptions { ConvertIntegersToI32 = true }));
        Assert.Equal(("bf16.weights", "BF16"), (ex2.Tensor, ex2.DType));
        Assert.Contains("ConvertHalfToF32", ex2.Message);
    }

    [Fact]
    public void Mixed_NativeTensorsMatchTheRawBytesOfTheFile()
    {
        // Independent of the JSON numbers: F32/F64/I32 data is the file's bytes, unchanged.
        var (expected, _) = ReadExpected(FileCase("golden_mixed.safetensors"));
        using var scope = TensorScope.Begin();
        var (t, _) = SafeTensors.Load(Golden("golden_mixed.safetensors"), Convert);
        foreach (var name in new[] { "f32.matrix", "f64.vector", "i32.codes" })
        {
            byte[] raw = t[name].DType switch
            {
                DType.F32 => t[name].ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray(),
                DType.F64 => t[name].ToArray<double>().SelectMany(BitConverter.GetBytes).ToArray(),
                _ => t[name].ToArray<int>().SelectMany(BitConverter.GetBytes).ToArray(),
            };
            Assert.Equal(expected[name].Raw, raw);
        }
    }
}
