// SafeTensors.Save: exact round trips of F32/F64/I32 (scalars, zero-size, strided views) on every
// device row, the reference writer's byte layout (the serialization vectors of
// safetensors/src/tensor.rs's tests, rebuilt here from the format description), deterministic
// output whatever the dictionary order, 8-byte aligned data, JSON escaping of names and
// metadata, atomic replacement of an existing file, and argument errors.
using System.Text;
using Engine.Models.Checkpoint;
using Engine.Tests.Imaging;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Checkpoint;

public class SafeTensorsWriteTests
{
    /// <summary>Seeded tensors of every engine dtype, with a scalar, zero-size tensors and
    /// special float values.</summary>
    internal static Dictionary<string, Tensor> Sample(System.Random rng, Device device)
    {
        var f = TestData.Floats(rng, 24, -3, 3);
        f[0] = -0f; f[1] = float.PositiveInfinity; f[2] = float.NaN; f[3] = float.Epsilon;
        var d = TestData.Doubles(rng, 10, -1e6, 1e6);
        d[0] = double.NegativeInfinity; d[1] = 5e-324;
        var ints = Enumerable.Range(0, 6).Select(_ => rng.Next(int.MinValue, int.MaxValue)).ToArray();
        ints[0] = int.MinValue; ints[1] = int.MaxValue;
        return new Dictionary<string, Tensor>
        {
            ["encoder.conv.weight"] = Tensor.FromArray(f, [2, 3, 2, 2], device),
            ["encoder.conv.bias"] = Tensor.FromArray(TestData.Floats(rng, 2), [2], device),
            ["prior.logdet"] = Tensor.FromArray(d, [2, 5], device),
            ["vq.codes"] = Tensor.FromArray(ints, [3, 2], device),
            ["temperature"] = Tensor.Scalar(0.8, DType.F32, device),
            ["empty"] = Tensor.Zeros([0], DType.F32, device),
            ["empty.f64"] = Tensor.Zeros([4, 0], DType.F64, device),
        };
    }

    private static byte[] Bits(Tensor t) => t.DType switch
    {
        DType.F32 => t.ToArray<float>().SelectMany(BitConverter.GetBytes).ToArray(),
        DType.F64 => t.ToArray<double>().SelectMany(BitConverter.GetBytes).ToArray(),
        _ => t.ToArray<int>().SelectMany(BitConverter.GetBytes).ToArray(),
    };

    public static TheoryData<string> Rows => TestDevices.AllRows;

    [Theory]
    [MemberData(nameof(Rows))]
    public void RoundTrip_IsBitExact_OnEveryDevice(string row)
    {
        var device = TestDevices.Get(row);
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var src = Sample(TestData.Rng(), device);
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["step"] = "42" };
        string path = tmp.File("model.safetensors");
        SafeTensors.Save(path, src, meta);

        var (back, backMeta) = SafeTensors.Load(path, device);
        Assert.Equal(meta, backMeta);
        Assert.Equal(src.Keys.Order(), back.Keys.Order());
        foreach (var (name, t) in src)
        {
            var b = back[name];
            Assert.Equal((t.DType, device), (b.DType, b.Device));
            Assert.Equal(t.Shape, b.Shape);
            Assert.True(Bits(t).SequenceEqual(Bits(b)), $"'{name}' differs after the round trip on {row}");
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void StridedViews_AreWrittenInRowMajorOrder(string row)
    {
        var device = TestDevices.Get(row);
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var rng = TestData.Rng();
        var baseT = Tensor.FromArray(TestData.Floats(rng, 4 * 6), [4, 6], device);
        var transposed = baseT.Transpose(0, 1);          // (6, 4), not contiguous
        var narrowed = baseT.Narrow(1, 2, 3);            // (4, 3) at an offset, not contiguous
        var offsetRow = baseT.Select(0, 2);              // (6,) contiguous at offset 12
        string path = tmp.File("views.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["t"] = transposed, ["n"] = narrowed, ["r"] = offsetRow });
        var (back, _) = SafeTensors.Load(path);
        Assert.Equal(transposed.Contiguous().ToArray<float>(), back["t"].ToArray<float>());
        Assert.Equal(narrowed.Contiguous().ToArray<float>(), back["n"].ToArray<float>());
        Assert.Equal(offsetRow.ToArray<float>(), back["r"].ToArray<float>());
        Assert.Equal([6, 4], back["t"].Shape);
    }

    [Fact]
    public void Bytes_MatchTheReferenceSerializationVectors()
    {
        // safetensors/src/tensor.rs test_serialization / test_empty: one F32 [1, 2, 3] tensor of
        // 0..5 named "attn.0"; no tensors; no tensors with metadata {"framework": "pt"}.
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string p = tmp.File("a.safetensors");
        SafeTensors.Save(p, new Dictionary<string, Tensor> { ["attn.0"] = Tensor.FromArray([0f, 1, 2, 3, 4, 5], [1, 2, 3]) });
        string json = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal(64, json.Length); // already a multiple of 8: no padding
        byte[] data = new[] { 0f, 1, 2, 3, 4, 5 }.SelectMany(BitConverter.GetBytes).ToArray();
        Assert.Equal([.. BitConverter.GetBytes(64UL), .. Encoding.ASCII.GetBytes(json), .. data], File.ReadAllBytes(p));

        // test_serialization_forced_alignement: "attn0", [1, 1, 2, 3]: 65 bytes of JSON + 7 spaces
        SafeTensors.Save(p, new Dictionary<string, Tensor> { ["attn0"] = Tensor.FromArray([0f, 1, 2, 3, 4, 5], [1, 1, 2, 3]) });
        json = "{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}";
        Assert.Equal([.. BitConverter.GetBytes(72UL), .. Encoding.ASCII.GetBytes(json + "       "), .. data], File.ReadAllBytes(p));

        SafeTensors.Save(p, new Dictionary<string, Tensor>());
        Assert.Equal([8, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'}', 32, 32, 32, 32, 32, 32], File.ReadAllBytes(p));

        SafeTensors.Save(p, new Dictionary<string, Tensor>(), new Dictionary<string, string> { ["framework"] = "pt" });
        Assert.Equal([.. BitConverter.GetBytes(40UL), .. Encoding.ASCII.GetBytes("{\"__metadata__\":{\"framework\":\"pt\"}}     ")], File.ReadAllBytes(p));
    }

    [Fact]
    public void Output_IsDeterministic_OrderedByDTypeThenName_AndAligned()
    {
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        var src = Sample(TestData.Rng(), Device.Cpu);
        var reversed = src.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        var meta = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" };
        var metaReversed = meta.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);
        string p1 = tmp.File("1.safetensors"), p2 = tmp.File("2.safetensors");
        SafeTensors.Save(p1, src, meta);
        SafeTensors.Save(p2, reversed, metaReversed);
        Assert.Equal(File.ReadAllBytes(p1), File.ReadAllBytes(p2));

        var h = SafeTensors.ReadHeader(p1);
        Assert.Equal(0, h.DataStart % 8);
        // F64 first, then F32, then I32 (the reference's descending alignment order), names ascending
        Assert.Equal(["empty.f64", "prior.logdet", "empty", "encoder.conv.bias", "encoder.conv.weight", "temperature", "vq.codes"],
            h.Tensors.Select(t => t.Name).ToArray());
        string header = Encoding.UTF8.GetString(File.ReadAllBytes(p1), 8, (int)h.HeaderBytes);
        Assert.StartsWith("{\"__metadata__\":{\"a\":\"1\",\"b\":\"2\"},", header);
    }

    [Fact]
    public void NamesAndMetadata_WithQuotesControlsAndUnicode_RoundTrip()
    {
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string odd = "a\"b\\c\nd\t\u0001é✓𝄞";
        var meta = new Dictionary<string, string> { [odd] = odd, ["empty"] = "" };
        string p = tmp.File("odd.safetensors");
        SafeTensors.Save(p, new Dictionary<string, Tensor> { [odd] = Tensor.FromArray([1, 2], [2]), [""] = Tensor.Scalar(1) }, meta);
        var (t, m) = SafeTensors.Load(p);
        Assert.Equal(new[] { 1, 2 }, t[odd].ToArray<int>());
        Assert.True(t.ContainsKey(""));
        Assert.Equal(meta, m);
        string header = Encoding.UTF8.GetString(File.ReadAllBytes(p), 8, (int)SafeTensors.ReadHeader(p).HeaderBytes);
        Assert.Contains("a\\\"b\\\\c\\nd\\t\\u0001é✓𝄞", header); // escaped as serde_json / json.dumps(ensure_ascii=False) do
    }

    [Fact]
    public void Save_ReplacesAnExistingFile_AndLeavesNoTemporaryFiles()
    {
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string p = tmp.File("ckpt.safetensors");
        SafeTensors.Save(p, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray([1f, 2f], [2]) });
        SafeTensors.Save(p, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray([3f, 4f, 5f], [3]) });
        Assert.Equal([3f, 4f, 5f], SafeTensors.Load(p).Tensors["w"].ToArray<float>());
        Assert.Equal(["ckpt.safetensors"], Directory.GetFiles(tmp.Path).Select(Path.GetFileName).ToArray());
    }

    [Fact]
    public void FailedSave_LeavesThePreviousCheckpointIntact()
    {
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string p = tmp.File("ckpt.safetensors");
        SafeTensors.Save(p, new Dictionary<string, Tensor> { ["w"] = Tensor.FromArray([1f, 2f], [2]) });
        byte[] before = File.ReadAllBytes(p);

        var gone = Tensor.FromArray([9f], [1]);
        gone.Dispose();
        var ex = Assert.Throws<InvalidArgumentException>(() => SafeTensors.Save(p, new Dictionary<string, Tensor> { ["w"] = gone }));
        Assert.Contains("'w' was disposed", ex.Message);
        Assert.Throws<InvalidArgumentException>(() => SafeTensors.Save(p, new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Scalar(1) }));
        Assert.Throws<InvalidArgumentException>(() => SafeTensors.Save(p, new Dictionary<string, Tensor> { ["bad\uD800"] = Tensor.Scalar(1) }));
        Assert.Equal(before, File.ReadAllBytes(p));
        Assert.Single(Directory.GetFiles(tmp.Path));

        // the folder does not exist: a typed IO error naming the file, nothing left behind
        string missing = Path.Combine(tmp.Path, "no", "dir", "x.safetensors");
        var io = Assert.Throws<CheckpointIOException>(() => SafeTensors.Save(missing, new Dictionary<string, Tensor> { ["w"] = Tensor.Scalar(1) }));
        Assert.Contains(missing, io.Message);
    }
}
