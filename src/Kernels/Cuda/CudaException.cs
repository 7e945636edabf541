// Every non-success status of the driver, NVRTC, cuBLAS or cuDNN becomes a CudaException naming
// the library, the API call, the status (numeric and by name) and the engine op that made the call.
namespace Engine.Cuda;

public sealed class CudaException(string library, string call, int status, string statusName, string op, string? detail = null)
    : EngineException($"{op}: {library} call {call} failed with {statusName}{(status >= 0 ? $" [{status}]" : "")}" + (detail == null ? "" : $": {detail}"))
{
    public string Library { get; } = library;
    public string Call { get; } = call;
    public int Status { get; } = status;
    public string StatusName { get; } = statusName;
    public string Op { get; } = op;
}
