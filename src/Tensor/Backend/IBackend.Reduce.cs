// Reductions: y has x's rank with size 1 on every reduced axis (keepdim form; the op layer
// squeezes). Var uses `correction` (1 = unbiased). ArgMax/ArgMin reduce exactly one axis, y is I32.
namespace Engine;

public partial interface IBackend
{
    void Reduce(ReduceOp op, Buf x, int[] axes, Buf y, int correction);
}
