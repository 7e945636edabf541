// Invalid files: each is a CheckpointFormatException naming the file and the reason, thrown by
// both ReadHeader and Load before any tensor memory is allocated (ErrorAssert checks the CPU
// counters, hence the CpuMemory collection). Missing files and folders are CheckpointIOException;
// valid files with dtypes the engine cannot hold are CheckpointDTypeException naming the tensor.
using Engine.Models.Checkpoint;
using Engine.Tests.Imaging;
using Engine.Tests.Support;
using Xunit;
using static Engine.Tests.Checkpoint.CheckpointTestSupport;

namespace Engine.Tests.Checkpoint;

[Collection("CpuMemory")]
public class SafeTensorsCorruptTests
{
    private static byte[] F32(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    /// <summary>Both entry points fail with the same typed error naming the file and each fragment.</summary>
    private static void Rejects(string path, params string[] fragments)
    {
        string[] must = [Path.GetFileName(path), .. fragments];
        ErrorAssert.Fails<CheckpointFormatException>(() => SafeTensors.ReadHeader(path), must);
        var ex = ErrorAssert.Fails<CheckpointFormatException>(() => SafeTensors.Load(path), must);
        Assert.Equal(path, ex.Path);
    }

    /// <summary>name -> (header JSON, data bytes, length-field override, expected message fragments)</summary>
    public static TheoryData<string> Cases() => new(CaseTable.Keys.ToArray());

    private static readonly Dictionary<string, (string Header, byte[] Data, ulong? N, string[] Must)> CaseTable = new()
    {
        ["bad_json"] = ("{\"w\":{\"dtype\":\"F32\",", [], null, ["header is not valid JSON"]),
        ["not_object"] = ("[1, 2]", [], null, ["header is a JSON array, expected an object"]),
        ["entry_not_object"] = ("{\"w\":5}", [], null, ["tensor 'w'", "JSON number"]),
        ["unknown_dtype"] = ("{\"w\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1), null, ["tensor 'w'", "unknown dtype 'F7'"]),
        ["lowercase_dtype"] = ("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1), null, ["unknown dtype 'f32'"]),
        ["missing_shape"] = ("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", F32(1), null, ["tensor 'w'", "missing \"shape\""]),
        ["missing_offsets"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", F32(1), null, ["missing \"data_offsets\""]),
        ["negative_dim"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", F32(1), null, ["shape entry 0 is -1"]),
        ["fractional_dim"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", F32(1), null, ["shape entry 0 is 1.5"]),
        ["negative_offset"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", F32(1), null, ["data_offsets entry 0 is -4"]),
        ["three_offsets"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", F32(1), null, ["expected [begin, end]"]),
        ["size_mismatch"] = ("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", F32(1, 2, 3), null,
            ["tensor 'x': data_offsets [0, 12] give 12 bytes, F32 shape [2, 2] needs 16"]),
        ["offsets_out_of_range"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", F32(1, 2), null,
            ["tensor 'w'", "[0, 16] reach past the end of the data buffer (8 bytes"]),
        ["end_before_begin"] = ("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", F32(1, 2), null, ["end before begin"]),
        ["overlap"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            F32(1, 2, 3), null, ["tensor 'b'", "overlap tensor 'a' [0, 8]"]),
        ["same_range_twice"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            F32(1, 2), null, ["overlap tensor 'a'"]),
        ["gap"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
            F32(1, 2, 3), null, ["tensor 'b'", "gap [4, 8) after tensor 'a'"]),
        ["first_not_at_zero"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", F32(1, 2), null, ["bytes [0, 4)", "must begin at 0"]),
        ["trailing_bytes"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1, 2), null, ["cover 4 bytes of the 8-byte data buffer"]),
        ["duplicate_tensor"] = ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
            F32(1, 2), null, ["key 'a' appears twice"]),
        ["duplicate_field"] = ("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", F32(1), null, ["\"dtype\" appears twice"]),
        ["metadata_not_strings"] = ("{\"__metadata__\":{\"k\":1}}", [], null, ["\"__metadata__\" entry 'k' is a JSON number"]),
        ["metadata_not_object"] = ("{\"__metadata__\":\"pt\"}", [], null, ["\"__metadata__\" is a JSON string"]),
        ["shape_overflow"] = ("{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483647,2147483647,2147483647],\"data_offsets\":[0,8]}}", F32(1, 2), null,
            ["overflows a 64-bit byte count"]),
        ["sub_byte_shape"] = ("{\"w\":{\"dtype\":\"F4\",\"shape\":[3],\"data_offsets\":[0,1]}}", [0], null, ["F4 shape [3] is 12 bits"]),
        ["header_length_huge"] = ("{}", [], 1UL << 40, ["header length 1099511627776 exceeds the 100000000-byte limit"]),
        ["header_length_past_end"] = ("{}", [], 1000, ["header length 1000 reaches past the end of the file (10 bytes"]),
        ["header_length_zero"] = ("{}", [], 0, ["header is not valid JSON"]),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Corrupt_IsAFormatError_NamingFileAndReason(string name)
    {
        var (header, data, n, must) = CaseTable[name];
        using var tmp = new TempDir();
        Rejects(RawFile(tmp.File(name + ".safetensors"), header, data, n), must);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Corrupt_IsAlsoRejectedByThePythonReference(string name)
    {
        // The cases are invalid by the format, not only by our reader.
        var (header, data, n, _) = CaseTable[name];
        using var tmp = new TempDir();
        var (rc, output) = PythonRef.RunScript("validate", RawFile(tmp.File(name + ".safetensors"), header, data, n));
        Assert.True(rc == 1, $"{name}: the reference reader says (exit {rc}): {output}");
        Assert.StartsWith("INVALID", output);
    }

    [Fact]
    public void TooShort_AndInvalidUtf8_AreFormatErrors()
    {
        using var tmp = new TempDir();
        string shortFile = tmp.File("short.safetensors");
        File.WriteAllBytes(shortFile, [1, 0, 0]);
        Rejects(shortFile, "file is 3 bytes, shorter than the 8-byte header length field");
        string empty = tmp.File("empty.safetensors");
        File.WriteAllBytes(empty, []);
        Rejects(empty, "file is 0 bytes");
        string utf = tmp.File("utf.safetensors");
        File.WriteAllBytes(utf, [.. BitConverter.GetBytes(4UL), (byte)'{', 0xFF, 0xFE, (byte)'}']);
        Rejects(utf, "header is not valid UTF-8");
    }

    [Fact]
    public void TruncatedCheckpoints_AreFormatErrors_AtEveryCut()
    {
        using var tmp = new TempDir();
        byte[] full = File.ReadAllBytes(Golden("golden_mixed.safetensors"));
        long n = BitConverter.ToInt64(full, 0);
        // inside the length field, inside the header, and inside the data (first, middle, last byte)
        foreach (int keep in new[] { 5, 8, 8 + (int)n / 2, 8 + (int)n, 8 + (int)n + 1, 8 + (int)n + (full.Length - 8 - (int)n) / 2, full.Length - 1 })
        {
            if (keep >= full.Length) continue;
            string p = tmp.File($"cut{keep}.safetensors");
            File.WriteAllBytes(p, full[..keep]);
            string why = keep < 8 ? "shorter than the 8-byte header length field"
                : keep < 8 + n ? "reaches past the end of the file"
                : "data buffer";
            Rejects(p, why);
        }
    }

    [Fact]
    public void PaddingSpaces_AndUnknownEntryFields_AreAccepted()
    {
        // Readers must accept the writer's trailing spaces and, like the reference, ignore extra keys.
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        string p = RawFile(tmp.File("pad.safetensors"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"note\":[1]}}          ", F32(1, -2));
        Assert.Equal([1f, -2f], SafeTensors.Load(p).Tensors["w"].ToArray<float>());
    }

    [Fact]
    public void MissingFile_AndFolder_AreIOErrors()
    {
        using var tmp = new TempDir();
        string missing = tmp.File("nope.safetensors");
        ErrorAssert.Fails<CheckpointIOException>(() => SafeTensors.Load(missing), "nope.safetensors", "no such file");
        ErrorAssert.Fails<CheckpointIOException>(() => SafeTensors.ReadHeader(tmp.Path), "is a folder");
    }

    [Fact]
    public void ForeignDTypes_FailBeforeAnyAllocation_NamingTensorAndDType()
    {
        using var tmp = new TempDir();
        string p = RawFile(tmp.File("fp8.safetensors"),
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"q\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[4,8]}}", F32(1, 2));
        var all = new SafeTensorsLoadOptions { ConvertHalfToF32 = true, ConvertIntegersToI32 = true };
        var ex = ErrorAssert.Fails<CheckpointDTypeException>(() => SafeTensors.Load(p, all), "fp8.safetensors", "tensor 'q' (F8_E4M3)", "no conversion");
        Assert.Equal(("q", "F8_E4M3"), (ex.Tensor, ex.DType));
        // the header itself is valid and lists it
        Assert.Equal(SafeTensorsDType.F8_E4M3, SafeTensors.ReadHeader(p)["q"].DType);

        string h = RawFile(tmp.File("half.safetensors"), "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", [0, 0x3C, 0, 0xC0]);
        ErrorAssert.Fails<CheckpointDTypeException>(() => SafeTensors.Load(h), "half.safetensors", "tensor 'h' (F16)", "ConvertHalfToF32");
    }

    [Fact]
    public void IntegerConversion_OutOfI32Range_NamesTheElement()
    {
        using var tmp = new TempDir();
        using var scope = TensorScope.Begin();
        long[] v = [1, -2, 1L << 40];
        string p = RawFile(tmp.File("big.safetensors"),
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"steps\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[4,28]}}",
            [.. F32(1), .. v.SelectMany(BitConverter.GetBytes)]);
        long live = CpuMemory.LiveBytes;
        var ex = Assert.Throws<CheckpointDTypeException>(() => SafeTensors.Load(p, new SafeTensorsLoadOptions { ConvertIntegersToI32 = true }));
        Assert.Contains("tensor 'steps' (I64): element 2 is 1099511627776, outside the I32 range", ex.Message);
        Assert.Contains("big.safetensors", ex.Message);
        // the tensors read before the failure were released
        Assert.Equal(live, CpuMemory.LiveBytes);

        string u = RawFile(tmp.File("u64.safetensors"), "{\"n\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]}}", BitConverter.GetBytes(ulong.MaxValue));
        Assert.Contains("element 0 is 18446744073709551615", Assert.Throws<CheckpointDTypeException>(() => SafeTensors.Load(u, new SafeTensorsLoadOptions { ConvertIntegersToI32 = true })).Message);
    }

    [Fact]
    public void Messages_AreReadable()
    {
        using var tmp = new TempDir();
        string p = RawFile(tmp.File("m.safetensors"), "{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", F32(1, 2, 3));
        var ex = Assert.Throws<CheckpointFormatException>(() => SafeTensors.Load(p));
        Assert.Equal($"checkpoint '{p}': tensor 'x': data_offsets [0, 12] give 12 bytes, F32 shape [2, 2] needs 16", ex.Message);
        Assert.Equal("tensor 'x': data_offsets [0, 12] give 12 bytes, F32 shape [2, 2] needs 16", ex.Reason);
    }
}
