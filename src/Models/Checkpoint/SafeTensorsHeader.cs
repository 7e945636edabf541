// The safetensors header: parsing and validation (no tensor data is read here).
// File layout: 8-byte little-endian u64 N | N bytes of UTF-8 JSON | the data buffer.
// The JSON object maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} with
// offsets relative to the start of the data buffer, plus an optional "__metadata__" object of
// string -> string. Checks, as the reference reader (safetensors/src/tensor.rs, read_metadata and
// Metadata::validate) makes them, plus duplicate names (the reference keeps the last silently):
//   N <= 100,000,000 and 8 + N <= file size; the header is valid UTF-8 and a JSON object;
//   dtypes are known names, shape entries non-negative integers, offsets two non-negative integers;
//   numel * bits is a whole number of bytes equal to end - begin (overflow-checked);
//   sorted by offsets, the tensors tile the data buffer exactly: the first begins at 0, each
//   begins where the previous ended (no gap, no overlap) and the last ends at the file's end.
// Keys inside a tensor entry other than the three are ignored, as the reference does.
using System.Text;
using System.Text.Json;

namespace Engine.Models.Checkpoint;

/// <summary>One tensor's header entry. Begin/End are byte offsets into the data buffer.</summary>
public sealed record SafeTensorsEntry(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)
{
    public long Numel { get; } = Shape.Aggregate(1L, (a, d) => a * d);
    public long Bytes => End - Begin;
    public override string ToString() => $"{Name}: {DType.Name()} [{string.Join(", ", Shape)}] [{Begin}, {End})";
}

/// <summary>What <see cref="SafeTensors.ReadHeader"/> returns: the entries ordered by offset,
/// the metadata, and where the data buffer starts in the file.</summary>
public sealed class SafeTensorsHeader
{
    /// <summary>The reference's limit on N (safetensors MAX_HEADER_SIZE).</summary>
    public const long MaxHeaderBytes = 100_000_000;
    public const string MetadataKey = "__metadata__";

    public string Path { get; }
    /// <summary>N, the JSON header's length in bytes (padding included).</summary>
    public long HeaderBytes { get; }
    public long DataStart => 8 + HeaderBytes;
    public long FileBytes { get; }
    public IReadOnlyList<SafeTensorsEntry> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    private readonly Dictionary<string, SafeTensorsEntry> _byName;

    internal SafeTensorsHeader(string path, long headerBytes, long fileBytes, List<SafeTensorsEntry> tensors, Dictionary<string, string> metadata)
    {
        Path = path; HeaderBytes = headerBytes; FileBytes = fileBytes;
        Tensors = tensors; Metadata = metadata;
        _byName = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
    }

    public bool Contains(string name) => _byName.ContainsKey(name);
    public SafeTensorsEntry this[string name] => _byName.TryGetValue(name, out var e) ? e
        : throw new InvalidArgumentException("SafeTensorsHeader", $"no tensor '{name}' in '{Path}'");

    /// <summary>Reads and validates the header of an open file (positioned anywhere).</summary>
    internal static SafeTensorsHeader Read(string path, Stream s)
    {
        long fileBytes = s.Length;
        if (fileBytes < 8) throw Bad(path, $"file is {fileBytes} bytes, shorter than the 8-byte header length field");
        Span<byte> lenBytes = stackalloc byte[8];
        s.Position = 0;
        s.ReadExactly(lenBytes);
        ulong n = BitConverter.ToUInt64(lenBytes); // little-endian hosts only (checked by SafeTensors)
        if (n > MaxHeaderBytes) throw Bad(path, $"header length {n} exceeds the {MaxHeaderBytes}-byte limit (corrupt length field?)");
        if (8 + (long)n > fileBytes) throw Bad(path, $"header length {n} reaches past the end of the file ({fileBytes} bytes; truncated?)");
        var json = new byte[n];
        s.ReadExactly(json);
        long bufferBytes = fileBytes - 8 - (long)n;
        var (tensors, metadata) = Parse(path, json, bufferBytes);
        return new SafeTensorsHeader(path, (long)n, fileBytes, tensors, metadata);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static (List<SafeTensorsEntry>, Dictionary<string, string>) Parse(string path, byte[] json, long bufferBytes)
    {
        try { StrictUtf8.GetCharCount(json); }
        catch (DecoderFallbackException) { throw Bad(path, "header is not valid UTF-8"); }
        JsonDocument doc;
        try { doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e) { throw Bad(path, $"header is not valid JSON: {e.Message}"); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw Bad(path, $"header is a JSON {Kind(root)}, expected an object");
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var tensors = new List<SafeTensorsEntry>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in root.EnumerateObject())
            {
                if (!seen.Add(p.Name)) throw Bad(path, $"key '{p.Name}' appears twice in the header");
                if (p.Name == MetadataKey) ParseMetadata(path, p.Value, metadata);
                else tensors.Add(ParseEntry(path, p.Name, p.Value));
            }
            Validate(path, tensors, bufferBytes);
            return (tensors, metadata);
        }
    }

    private static void ParseMetadata(string path, JsonElement v, Dictionary<string, string> metadata)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"\"{MetadataKey}\" is a JSON {Kind(v)}, expected an object of strings");
        foreach (var m in v.EnumerateObject())
        {
            if (m.Value.ValueKind != JsonValueKind.String) throw Bad(path, $"\"{MetadataKey}\" entry '{m.Name}' is a JSON {Kind(m.Value)}, expected a string");
            if (!metadata.TryAdd(m.Name, m.Value.GetString()!)) throw Bad(path, $"\"{MetadataKey}\" key '{m.Name}' appears twice");
        }
    }

    private static SafeTensorsEntry ParseEntry(string path, string name, JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Object) throw Bad(path, $"tensor '{name}': entry is a JSON {Kind(v)}, expected an object with dtype, shape and data_offsets");
        JsonElement? dt = null, sh = null, off = null;
        foreach (var f in v.EnumerateObject())
        {
            ref JsonElement? slot = ref dt;
            switch (f.Name)
            {
                case "dtype": break;
                case "shape": slot = ref sh; break;
                case "data_offsets": slot = ref off; break;
                default: continue;
            }
            if (slot != null) throw Bad(path, $"tensor '{name}': \"{f.Name}\" appears twice");
            slot = f.Value;
        }
        if (dt is not { } dtv) throw Bad(path, $"tensor '{name}': missing \"dtype\"");
        if (sh is not { } shv) throw Bad(path, $"tensor '{name}': missing \"shape\"");
        if (off is not { } offv) throw Bad(path, $"tensor '{name}': missing \"data_offsets\"");

        if (dtv.ValueKind != JsonValueKind.String) throw Bad(path, $"tensor '{name}': \"dtype\" is a JSON {Kind(dtv)}, expected a string");
        string dts = dtv.GetString()!;
        if (!SafeTensorsDTypes.TryParse(dts, out var dtype))
            throw Bad(path, $"tensor '{name}': unknown dtype '{dts}' (known: {string.Join(", ", Enum.GetNames<SafeTensorsDType>())})");

        if (shv.ValueKind != JsonValueKind.Array) throw Bad(path, $"tensor '{name}': \"shape\" is a JSON {Kind(shv)}, expected an array of non-negative integers");
        var shape = new int[shv.GetArrayLength()];
        int k = 0;
        foreach (var d in shv.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetUInt64(out ulong u))
                throw Bad(path, $"tensor '{name}': shape entry {k} is {d.GetRawText()}, expected a non-negative integer");
            if (u > int.MaxValue) throw Bad(path, $"tensor '{name}': dimension {k} is {u}, above the engine's limit of {int.MaxValue}");
            shape[k++] = (int)u;
        }

        if (offv.ValueKind != JsonValueKind.Array || offv.GetArrayLength() != 2)
            throw Bad(path, $"tensor '{name}': \"data_offsets\" is {offv.GetRawText()}, expected [begin, end]");
        var o = new long[2];
        k = 0;
        foreach (var d in offv.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetUInt64(out ulong u) || u > long.MaxValue)
                throw Bad(path, $"tensor '{name}': data_offsets entry {k} is {d.GetRawText()}, expected a non-negative integer");
            o[k++] = (long)u;
        }
        return new SafeTensorsEntry(name, dtype, shape, o[0], o[1]);
    }

    private static void Validate(string path, List<SafeTensorsEntry> tensors, long bufferBytes)
    {
        foreach (var t in tensors)
        {
            string where = $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}]";
            if (t.End < t.Begin) throw Bad(path, $"{where} end before begin");
            if (t.End > bufferBytes) throw Bad(path, $"{where} reach past the end of the data buffer ({bufferBytes} bytes; truncated file?)");
            long bits;
            try { bits = checked(t.Shape.Aggregate(1L, (a, d) => checked(a * d)) * t.DType.Bits()); }
            catch (OverflowException) { throw Bad(path, $"tensor '{t.Name}': shape [{string.Join(", ", t.Shape)}] overflows a 64-bit byte count"); }
            if (bits % 8 != 0) throw Bad(path, $"tensor '{t.Name}': {t.DType.Name()} shape [{string.Join(", ", t.Shape)}] is {bits} bits, not a whole number of bytes");
            if (t.End - t.Begin != bits / 8)
                throw Bad(path, $"{where} give {t.End - t.Begin} bytes, {t.DType.Name()} shape [{string.Join(", ", t.Shape)}] needs {bits / 8}");
        }
        // Tile check in offset order; ties (zero-size tensors) by name so the order is deterministic.
        tensors.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin)
            : a.End != b.End ? a.End.CompareTo(b.End) : string.CompareOrdinal(a.Name, b.Name));
        long at = 0;
        SafeTensorsEntry? prev = null;
        foreach (var t in tensors)
        {
            if (t.Begin < at)
                throw Bad(path, $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] overlap tensor '{prev!.Name}' [{prev.Begin}, {prev.End}]");
            if (t.Begin > at)
                throw Bad(path, prev is null
                    ? $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] leave bytes [0, {t.Begin}) of the data buffer to no tensor (the first must begin at 0)"
                    : $"tensor '{t.Name}': data_offsets [{t.Begin}, {t.End}] leave a gap [{at}, {t.Begin}) after tensor '{prev.Name}'");
            at = t.End;
            prev = t;
        }
        if (at != bufferBytes)
            throw Bad(path, $"the tensors cover {at} bytes of the {bufferBytes}-byte data buffer (trailing bytes belong to no tensor)");
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString(),
    };

    private static CheckpointFormatException Bad(string path, string reason) => new(path, reason);
}
