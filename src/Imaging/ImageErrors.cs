// Typed errors of the imaging layer: every message names the file and the reason.
namespace Engine.Imaging;

/// <summary>The file exists and was read, but its content is not a decodable PNG/JPEG/BMP
/// (corrupt, truncated, unsupported format) or cannot be encoded.</summary>
public sealed class ImageFormatException(string path, string reason)
    : EngineException($"image '{path}': {reason}")
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}

/// <summary>The file system refused: missing file or folder, permission, write failure.</summary>
public sealed class ImageIOException(string path, string reason, Exception? inner = null)
    : EngineException($"image '{path}': {reason}" + (inner is null ? "" : $" ({inner.GetType().Name}: {inner.Message})"))
{
    public string Path { get; } = path;
    public string Reason { get; } = reason;
}
