// Typed errors. Every op validates before allocating or launching and throws one of these with a
// message that names the op and every offending shape, dtype and device.
namespace Engine;

public class EngineException(string message) : Exception(message);

public sealed class ShapeMismatchException(string op, string detail)
    : EngineException($"{op}: shape mismatch: {detail}") { public string Op { get; } = op; }

public sealed class DTypeMismatchException(string op, string detail)
    : EngineException($"{op}: dtype mismatch: {detail}") { public string Op { get; } = op; }

public sealed class DeviceMismatchException(string op, string detail)
    : EngineException($"{op}: device mismatch: {detail}") { public string Op { get; } = op; }

public sealed class RankException(string op, string detail)
    : EngineException($"{op}: wrong rank: {detail}") { public string Op { get; } = op; }

public sealed class DimOutOfRangeException(string op, string detail)
    : EngineException($"{op}: dimension out of range: {detail}") { public string Op { get; } = op; }

public sealed class UnsupportedOpException(string op, string detail)
    : EngineException($"{op}: unsupported: {detail}") { public string Op { get; } = op; }

public sealed class BackwardNotSupportedException(string op, string detail)
    : EngineException($"{op}: backward not supported: {detail}") { public string Op { get; } = op; }

public sealed class InvalidArgumentException(string op, string detail)
    : EngineException($"{op}: invalid argument: {detail}") { public string Op { get; } = op; }

public static class Fmt
{
    public static string Shape(ReadOnlySpan<int> s) => "[" + string.Join(", ", s.ToArray()) + "]";
    public static string Of(Tensor t) => $"{Shape(t.Layout.Shape)} {t.DType.Name()} {t.Device}";
}
