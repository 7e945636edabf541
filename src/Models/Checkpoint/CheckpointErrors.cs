// Typed errors of checkpoint IO: every message names the file and the reason (and the tensor,
// where one is at fault).
namespace Engine.Models.Checkpoint;

/// <summary>The file was read but is not a valid checkpoint: truncated, a header length past the
/// end, invalid JSON, an unknown dtype, offsets that leave gaps, overlap or disagree with the shape.</summary>
public sealed class CheckpointFormatException(string path, string reason)
    : EngineException($"checkpoint '{path}': {reason}")
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>The file system refused: missing file, a folder, permission, a failed write or rename.</summary>
public sealed class CheckpointIOException(string path, string reason, Exception? inner = null)
    : EngineException($"checkpoint '{path}': {reason}" + (inner is null ? "" : $" ({inner.GetType().Name}: {inner.Message})"))
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>A valid file holds a tensor whose dtype the engine has no tensor type for (F16, BF16,
/// I64, U8, ...) and the load options do not ask for a conversion, or a conversion cannot hold a
/// value (an I64 outside the I32 range).</summary>
public sealed class CheckpointDTypeException(string path, string tensor, string dtype, string reason)
    : EngineException($"checkpoint '{path}': tensor '{tensor}' ({dtype}): {reason}")
{
    public string Path { get; } = path;
    public string Tensor { get; } = tensor;
    public string DType { get; } = dtype;
}
