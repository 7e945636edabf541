#!/usr/bin/env python3
"""PyTorch anchor for `engine bench gpu`: the same cases, the same timing method (CUDA events
around `iters` calls, median over `reps`), written as JSON with the same case names.
torch.backends.cudnn.benchmark = True; TF32 is set per case exactly like ours (off for fp32)."""
import argparse, json, torch

ap = argparse.ArgumentParser()
ap.add_argument("--reps", type=int, default=7)
ap.add_argument("--iters", type=int, default=10)
ap.add_argument("--json", required=True)
a = ap.parse_args()
dev = torch.device("cuda")
torch.backends.cudnn.benchmark = True
rows = []

def tf32(on):
    torch.backends.cuda.matmul.allow_tf32 = on
    torch.backends.cudnn.allow_tf32 = on

def timed(name, unit, work, fn):
    fn(); torch.cuda.synchronize()
    ts = []
    for _ in range(a.reps):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(a.iters):
            fn()
        e.record(); e.synchronize()
        ts.append(s.elapsed_time(e) / a.iters)
    ts.sort()
    ms = ts[len(ts) // 2]
    rows.append({"name": name, "unit": unit, "ms": ms, "rate": work / ms / 1e6})
    print(f"{name}: {ms:.3f} ms")

def rand(*shape):
    return torch.rand(*shape, device=dev) * 2 - 1

for n in (4096, 8192):
    A, B = rand(n, n), rand(n, n)
    C = torch.empty(n, n, device=dev)
    for mode in ("fp32", "tf32"):
        tf32(mode == "tf32")
        timed(f"sgemm {mode} {n}^3", "GFLOP/s", 2.0 * n ** 3, lambda: torch.matmul(A, B, out=C))
    del A, B, C

for mode in ("fp32", "tf32"):
    tf32(mode == "tf32")
    x, w, gy = rand(16, 64, 128, 128), rand(64, 64, 3, 3), rand(16, 64, 128, 128)
    flop = 2.0 * 16 * 64 * 128 * 128 * 64 * 9
    conv = torch.nn.functional.conv2d
    gi = torch.ops.aten.convolution_backward
    timed(f"conv3x3 64->64 N16 128x128 fwd {mode}", "GFLOP/s", flop, lambda: conv(x, w, None, 1, 1))
    timed(f"conv3x3 64->64 N16 128x128 bwd-data {mode}", "GFLOP/s", flop,
          lambda: gi(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [True, False, False]))
    timed(f"conv3x3 64->64 N16 128x128 bwd-filter {mode}", "GFLOP/s", flop,
          lambda: gi(gy, x, w, None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False]))
tf32(False)

n = 1 << 28
x, y, out = rand(n), rand(n), torch.empty(n, device=dev)
timed("copy (cuMemcpyDtoD) 2^28 f32", "GB/s", 2.0 * 4 * n, lambda: out.copy_(x))
timed("copy kernel 2^28 f32", "GB/s", 2.0 * 4 * n, lambda: out.copy_(x))
timed("add 2^28 f32", "GB/s", 3.0 * 4 * n, lambda: torch.add(x, y, out=out))

json.dump({"tool": "torch " + torch.__version__, "device": torch.cuda.get_device_name(), "cudnn": torch.backends.cudnn.version(),
           "rows": rows}, open(a.json, "w"), indent=1)
