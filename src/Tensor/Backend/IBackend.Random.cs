// Counter-based random draws: Philox4x32-10 with (seed, offset) semantics shared by every backend
// (see Engine.Random.Philox for the exact element mapping). dst contiguous.
namespace Engine;

public partial interface IBackend
{
    void FillUniform(Buf dst, ulong seed, ulong offset, double lo, double hi);
    void FillNormal(Buf dst, ulong seed, ulong offset, double mean, double std);
}
