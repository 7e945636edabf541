// The element types a safetensors header may name, in the reference implementation's order
// (huggingface/safetensors, safetensors/src/tensor.rs `Dtype`: increasing alignment, and the
// writer's sort key), with their widths in bits, and the conversions the loader offers for the
// ones the engine has no tensor type for. All data in the file is little-endian.
using System.Buffers.Binary;

namespace Engine.Models.Checkpoint;

/// <summary>A dtype as the safetensors header spells it. The order is the reference's; do not reorder.</summary>
public enum SafeTensorsDType
{
    BOOL, F4, F6_E2M3, F6_E3M2, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16, BF16,
    I32, U32, F32, C64, F64, I64, U64,
}

public static class SafeTensorsDTypes
{
    /// <summary>Width of one element in bits (F4 and F6 pack below a byte).</summary>
    public static int Bits(this SafeTensorsDType d) => d switch
    {
        SafeTensorsDType.F4 => 4,
        SafeTensorsDType.F6_E2M3 or SafeTensorsDType.F6_E3M2 => 6,
        SafeTensorsDType.BOOL or SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.F8_E5M2
            or SafeTensorsDType.F8_E4M3 or SafeTensorsDType.F8_E8M0 => 8,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 16,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 32,
        SafeTensorsDType.C64 or SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 64,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    /// <summary>The header spelling ("F32", "BF16", "F8_E4M3", ...).</summary>
    public static string Name(this SafeTensorsDType d) => d.ToString();

    /// <summary>Parses a header dtype string (exact, case-sensitive, as the reference does).</summary>
    public static bool TryParse(string s, out SafeTensorsDType d)
    {
        foreach (var v in Enum.GetValues<SafeTensorsDType>())
            if (string.Equals(v.ToString(), s, StringComparison.Ordinal)) { d = v; return true; }
        d = default;
        return false;
    }

    /// <summary>The engine dtype a tensor of this file dtype loads as without conversion, if any.</summary>
    public static DType? Native(this SafeTensorsDType d) => d switch
    {
        SafeTensorsDType.F32 => DType.F32,
        SafeTensorsDType.F64 => DType.F64,
        SafeTensorsDType.I32 => DType.I32,
        _ => null,
    };

    public static SafeTensorsDType FromEngine(DType d) => d switch
    {
        DType.F32 => SafeTensorsDType.F32,
        DType.F64 => SafeTensorsDType.F64,
        DType.I32 => SafeTensorsDType.I32,
        _ => throw new ArgumentOutOfRangeException(nameof(d)),
    };

    internal static bool IsHalf(this SafeTensorsDType d) => d is SafeTensorsDType.F16 or SafeTensorsDType.BF16;

    internal static bool IsConvertibleInteger(this SafeTensorsDType d) => d is SafeTensorsDType.BOOL or SafeTensorsDType.U8
        or SafeTensorsDType.I8 or SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.U32
        or SafeTensorsDType.I64 or SafeTensorsDType.U64;

    /// <summary>F16 / BF16 little-endian bytes to float32 (both exact: every half and bfloat16
    /// value, subnormals, infinities and NaN payload class included, is a float32).</summary>
    internal static void HalfToF32(SafeTensorsDType d, ReadOnlySpan<byte> src, Span<float> dst)
    {
        if (d == SafeTensorsDType.F16)
            for (int i = 0; i < dst.Length; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]));
        else
            // bfloat16 is the high half of a float32
            for (int i = 0; i < dst.Length; i++) dst[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) << 16);
    }

    /// <summary>Integer (and BOOL) little-endian bytes to int32; returns the index of the first
    /// element outside the int32 range (its value in <paramref name="bad"/>), or -1.</summary>
    internal static int IntegerToI32(SafeTensorsDType d, ReadOnlySpan<byte> src, Span<int> dst, out string bad)
    {
        bad = "";
        switch (d)
        {
            case SafeTensorsDType.BOOL:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i] != 0 ? 1 : 0;
                break;
            case SafeTensorsDType.U8:
                for (int i = 0; i < dst.Length; i++) dst[i] = src[i];
                break;
            case SafeTensorsDType.I8:
                for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i];
                break;
            case SafeTensorsDType.I16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadInt16LittleEndian(src[(2 * i)..]);
                break;
            case SafeTensorsDType.U16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]);
                break;
            case SafeTensorsDType.U32:
                for (int i = 0; i < dst.Length; i++)
                {
                    uint v = BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]);
                    if (v > int.MaxValue) { bad = v.ToString(); return i; }
                    dst[i] = (int)v;
                }
                break;
            case SafeTensorsDType.I64:
                for (int i = 0; i < dst.Length; i++)
                {
                    long v = BinaryPrimitives.ReadInt64LittleEndian(src[(8 * i)..]);
                    if (v < int.MinValue || v > int.MaxValue) { bad = v.ToString(); return i; }
                    dst[i] = (int)v;
                }
                break;
            case SafeTensorsDType.U64:
                for (int i = 0; i < dst.Length; i++)
                {
                    ulong v = BinaryPrimitives.ReadUInt64LittleEndian(src[(8 * i)..]);
                    if (v > int.MaxValue) { bad = v.ToString(); return i; }
                    dst[i] = (int)v;
                }
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(d), $"{d} is not an integer dtype");
        }
        return -1;
    }
}
