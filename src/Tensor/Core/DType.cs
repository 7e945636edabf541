// Element types. F32 everywhere; F64 on CPU for gradient checks and references; I32 for indices
// (argmax results, gather/index_select/VQ codes), which no differentiable op accepts.
namespace Engine;

public enum DType { F32, F64, I32 }

public static class DTypeExtensions
{
    public static int Size(this DType d) => d switch { DType.F32 => 4, DType.F64 => 8, DType.I32 => 4, _ => throw new ArgumentOutOfRangeException(nameof(d)) };
    public static bool IsFloat(this DType d) => d is DType.F32 or DType.F64;
    public static string Name(this DType d) => d switch { DType.F32 => "f32", DType.F64 => "f64", DType.I32 => "i32", _ => d.ToString() };
}
