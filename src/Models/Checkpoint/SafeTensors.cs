// Reading and writing safetensors checkpoints (the Hugging Face format; header layout and
// validation in SafeTensorsHeader.cs). Our files are what the reference writer
// (safetensors/src/tensor.rs `prepare`) produces for the same tensors: tensors ordered by
// descending dtype (the reference's alignment order: F64, F32, I32 for ours) then by name
// (UTF-8 bytes), packed without gaps; the header is compact JSON with "__metadata__" first
// (keys sorted; the reference's order is a hash map's), then the tensors in data order, each
// {"dtype","shape","data_offsets"}; padded with spaces so the data starts 8-byte aligned.
// Saves are atomic: a temporary file in the same folder is renamed over the target, so an
// interrupted save leaves the previous checkpoint intact.
using System.Text;

namespace Engine.Models.Checkpoint;

/// <summary>How <see cref="SafeTensors.Load(string, SafeTensorsLoadOptions)"/> builds tensors.</summary>
public sealed record SafeTensorsLoadOptions
{
    /// <summary>Where the tensors go (read on the host, then copied); null is the CPU.</summary>
    public Device? Device { get; init; }
    /// <summary>Load F16 and BF16 tensors as F32 (exact). Off: such a tensor is a CheckpointDTypeException.</summary>
    public bool ConvertHalfToF32 { get; init; }
    /// <summary>Load BOOL, U8, I8, I16, U16, U32, I64 and U64 tensors as I32; a value outside the
    /// I32 range is a CheckpointDTypeException naming it. Off: such a tensor is an error.</summary>
    public bool ConvertIntegersToI32 { get; init; }

    public static readonly SafeTensorsLoadOptions Default = new();
}

public static class SafeTensors
{
    private const int ChunkBytes = 1 << 20;

    /// <summary>Reads and validates only the header: names, dtypes, shapes, offsets, metadata.</summary>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var s = Open(path);
        return ReadHeader(path, s);
    }

    /// <summary>Loads every tensor (F32, F64 and I32 as they are; other dtypes as the options say)
    /// and the metadata. Tensors register with the current TensorScope like any factory's.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, Device? device = null)
        => Load(path, SafeTensorsLoadOptions.Default with { Device = device });

    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path, SafeTensorsLoadOptions options)
    {
        RequireLittleEndian(path);
        using var s = Open(path);
        var header = ReadHeader(path, s);
        // Every dtype is settled before the first allocation.
        var targets = new DType[header.Tensors.Count];
        for (int i = 0; i < targets.Length; i++) targets[i] = Target(path, header.Tensors[i], options);
        var device = options.Device ?? Device.Cpu;
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            for (int i = 0; i < targets.Length; i++)
            {
                var e = header.Tensors[i];
                Tensor host = ReadTensor(path, s, header.DataStart, e, targets[i]);
                if (device == Device.Cpu) { result.Add(e.Name, host); continue; }
                try { result.Add(e.Name, host.To(device)); }
                finally { host.Dispose(); }
            }
        }
        catch
        {
            foreach (var t in result.Values) t.Dispose();
            throw;
        }
        return (result, new Dictionary<string, string>(header.Metadata, StringComparer.Ordinal));
    }

    /// <summary>Writes the tensors (any device, any layout; copied to the host contiguous) and the
    /// metadata atomically. Names may be any string but "__metadata__".</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        RequireLittleEndian(path);
        var items = new List<(string Name, byte[] Utf8, Tensor T, SafeTensorsDType D)>(tensors.Count);
        foreach (var (name, t) in tensors)
        {
            if (name == SafeTensorsHeader.MetadataKey)
                throw new InvalidArgumentException("SafeTensors.Save", $"'{name}' is reserved for the metadata and cannot name a tensor (file '{path}')");
            if (t is null) throw new InvalidArgumentException("SafeTensors.Save", $"tensor '{name}' is null (file '{path}')");
            if (t.IsDisposed) throw new InvalidArgumentException("SafeTensors.Save", $"tensor '{name}' was disposed (file '{path}')");
            items.Add((name, Utf8(path, "tensor name", name), t, SafeTensorsDTypes.FromEngine(t.DType)));
        }
        // The reference writer's order: descending dtype, then name.
        items.Sort((a, b) => a.D != b.D ? b.D.CompareTo(a.D) : a.Utf8.AsSpan().SequenceCompareTo(b.Utf8));

        var offsets = new long[items.Count];
        long at = 0;
        for (int i = 0; i < items.Count; i++) { offsets[i] = at; at += items[i].T.Numel * items[i].T.DType.Size(); }
        byte[] header = HeaderJson(path, items.Select((x, i) => (x.Utf8, x.D, x.T.Layout.Shape, offsets[i], offsets[i] + x.T.Numel * x.T.DType.Size())), metadata);

        string full = System.IO.Path.GetFullPath(path);
        string dir = System.IO.Path.GetDirectoryName(full)!;
        string tmp = System.IO.Path.Combine(dir, $".{System.IO.Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                Span<byte> n = stackalloc byte[8];
                BitConverter.TryWriteBytes(n, (ulong)header.Length);
                f.Write(n);
                f.Write(header);
                foreach (var x in items) WriteData(f, x.T);
                f.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            TryDelete(tmp);
            throw new CheckpointIOException(path, "cannot write the file", e);
        }
        catch
        {
            TryDelete(tmp);
            throw;
        }
    }

    private static SafeTensorsHeader ReadHeader(string path, FileStream s)
    {
        try { return SafeTensorsHeader.Read(path, s); }
        catch (IOException e) { throw new CheckpointIOException(path, "cannot read the header", e); }
    }

    private static FileStream Open(string path)
    {
        if (Directory.Exists(path)) throw new CheckpointIOException(path, "is a folder, not a file");
        if (!File.Exists(path)) throw new CheckpointIOException(path, "no such file");
        try { return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointIOException(path, "cannot open the file", e);
        }
    }

    private static DType Target(string path, SafeTensorsEntry e, SafeTensorsLoadOptions o)
    {
        if (e.DType.Native() is { } d) return d;
        string name = e.DType.Name();
        if (e.DType.IsHalf())
            return o.ConvertHalfToF32 ? DType.F32
                : throw new CheckpointDTypeException(path, e.Name, name, "the engine has no tensor type for it; load with ConvertHalfToF32 = true to get F32 (exact)");
        if (e.DType.IsConvertibleInteger())
            return o.ConvertIntegersToI32 ? DType.I32
                : throw new CheckpointDTypeException(path, e.Name, name, "the engine has no tensor type for it; load with ConvertIntegersToI32 = true to get I32 (range-checked)");
        throw new CheckpointDTypeException(path, e.Name, name, "the engine cannot load this dtype (no conversion exists)");
    }

    private static unsafe Tensor ReadTensor(string path, FileStream s, long dataStart, SafeTensorsEntry e, DType target)
    {
        var t = Tensor.Empty(e.Shape, target, Device.Cpu);
        try
        {
            byte* dst = (byte*)((CpuStorage)t.Storage).Pointer;
            s.Position = dataStart + e.Begin;
            if (e.DType.Native() == target)
            {
                for (long done = 0; done < e.Bytes;)
                {
                    int n = (int)Math.Min(ChunkBytes, e.Bytes - done);
                    s.ReadExactly(new Span<byte>(dst + done, n));
                    done += n;
                }
                return t;
            }
            int srcSize = e.DType.Bits() / 8;
            int perChunk = ChunkBytes / srcSize;
            var buf = new byte[(int)Math.Min(e.Bytes, (long)perChunk * srcSize)];
            for (long i = 0; i < e.Numel;)
            {
                int m = (int)Math.Min(perChunk, e.Numel - i);
                var src = buf.AsSpan(0, m * srcSize);
                s.ReadExactly(src);
                if (target == DType.F32)
                    SafeTensorsDTypes.HalfToF32(e.DType, src, new Span<float>((float*)dst + i, m));
                else
                {
                    int at = SafeTensorsDTypes.IntegerToI32(e.DType, src, new Span<int>((int*)dst + i, m), out string bad);
                    if (at >= 0)
                        throw new CheckpointDTypeException(path, e.Name, e.DType.Name(), $"element {i + at} is {bad}, outside the I32 range");
                }
                i += m;
            }
            return t;
        }
        catch (Exception ex) when (ex is IOException)
        {
            t.Dispose();
            throw new CheckpointIOException(path, $"cannot read the data of tensor '{e.Name}'", ex);
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    private static unsafe void WriteData(FileStream f, Tensor t)
    {
        if (t.Numel == 0) return;
        Tensor host = t.Device == Device.Cpu ? t.Contiguous() : t.To(Device.Cpu);
        try
        {
            if (!host.IsContiguous) { var c = host.Contiguous(); host.Dispose(); host = c; }
            int size = host.DType.Size();
            byte* p = (byte*)((CpuStorage)host.Storage).Pointer + host.Layout.Offset * size;
            long bytes = host.Numel * size;
            for (long done = 0; done < bytes;)
            {
                int n = (int)Math.Min(ChunkBytes, bytes - done);
                f.Write(new ReadOnlySpan<byte>(p + done, n));
                done += n;
            }
        }
        finally { host.Dispose(); }
    }

    /// <summary>The compact JSON header, padded with spaces to a multiple of 8 bytes.</summary>
    private static byte[] HeaderJson(string path, IEnumerable<(byte[] Name, SafeTensorsDType D, int[] Shape, long Begin, long End)> entries,
        IReadOnlyDictionary<string, string>? metadata)
    {
        var ms = new MemoryStream();
        ms.WriteByte((byte)'{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            Ascii(ms, "\"" + SafeTensorsHeader.MetadataKey + "\":{");
            var keys = metadata.Select(kv => (K: Utf8(path, "metadata key", kv.Key), V: Utf8(path, $"metadata value of '{kv.Key}'", kv.Value ?? throw
                new InvalidArgumentException("SafeTensors.Save", $"metadata value of '{kv.Key}' is null (file '{path}')")))).ToList();
            keys.Sort((a, b) => a.K.AsSpan().SequenceCompareTo(b.K));
            for (int i = 0; i < keys.Count; i++)
            {
                if (i > 0) ms.WriteByte((byte)',');
                JsonString(ms, keys[i].K);
                ms.WriteByte((byte)':');
                JsonString(ms, keys[i].V);
            }
            ms.WriteByte((byte)'}');
            first = false;
        }
        foreach (var (name, d, shape, begin, end) in entries)
        {
            if (!first) ms.WriteByte((byte)',');
            first = false;
            JsonString(ms, name);
            Ascii(ms, $":{{\"dtype\":\"{d.Name()}\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{begin},{end}]}}");
        }
        ms.WriteByte((byte)'}');
        while (ms.Length % 8 != 0) ms.WriteByte((byte)' ');
        if (ms.Length > SafeTensorsHeader.MaxHeaderBytes)
            throw new InvalidArgumentException("SafeTensors.Save", $"the header would be {ms.Length} bytes, above the format's {SafeTensorsHeader.MaxHeaderBytes}-byte limit (file '{path}')");
        return ms.ToArray();
    }

    /// <summary>A JSON string from UTF-8 bytes: quote, backslash and control characters escaped
    /// (\b \f \n \r \t, else \u00xx), everything else verbatim, as serde_json and Python's
    /// json.dumps(ensure_ascii=False) write it.</summary>
    private static void JsonString(MemoryStream ms, byte[] utf8)
    {
        ms.WriteByte((byte)'"');
        foreach (byte b in utf8)
        {
            switch (b)
            {
                case (byte)'"': Ascii(ms, "\\\""); break;
                case (byte)'\\': Ascii(ms, "\\\\"); break;
                case (byte)'\b': Ascii(ms, "\\b"); break;
                case (byte)'\f': Ascii(ms, "\\f"); break;
                case (byte)'\n': Ascii(ms, "\\n"); break;
                case (byte)'\r': Ascii(ms, "\\r"); break;
                case (byte)'\t': Ascii(ms, "\\t"); break;
                default:
                    if (b < 0x20) Ascii(ms, $"\\u{b:x4}");
                    else ms.WriteByte(b);
                    break;
            }
        }
        ms.WriteByte((byte)'"');
    }

    private static void Ascii(MemoryStream ms, string s) => ms.Write(Encoding.ASCII.GetBytes(s));

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static byte[] Utf8(string path, string what, string s)
    {
        try { return StrictUtf8.GetBytes(s); }
        catch (EncoderFallbackException) { throw new InvalidArgumentException("SafeTensors.Save", $"{what} '{s}' is not valid Unicode (a lone surrogate) and cannot be written as UTF-8 (file '{path}')"); }
    }

    private static void RequireLittleEndian(string path)
    {
        if (!BitConverter.IsLittleEndian)
            throw new UnsupportedOpException("SafeTensors", $"safetensors data is little-endian and this host is big-endian (file '{path}')");
    }

    private static void TryDelete(string p)
    {
        try { File.Delete(p); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
