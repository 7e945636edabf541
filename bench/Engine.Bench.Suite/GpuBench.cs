// `engine bench gpu`: our CUDA path on the shapes issue 4 names, timed with CUDA events on the
// backend's stream: SGEMM (FP32 and TF32, cuBLAS), conv2d 3x3 64->64 at N16 128x128 forward,
// backward data and backward filter (cuDNN, algorithms searched once per shape before timing),
// and a large elementwise add against the device-to-device copy bandwidth measured in the same
// run. bench/gpu/run.sh interleaves this with bench/gpu/torch_anchor.py (the same shapes in
// PyTorch) and bench/gpu/compare.py prints the ratios.
using System.Text.Json;
using Engine.Cuda;

namespace Engine.Bench;

public sealed record GpuRow(string Name, string Unit, double Ms, double Rate, double Work);

public static class GpuBench
{
    /// <summary>Runs every case; each figure is the median over reps of (iters launches / iters).</summary>
    public static List<GpuRow> Run(int ordinal, int reps, int iters, Action<string> log)
    {
        var be = Backends.Get(Device.Cuda(ordinal)) as CudaBackend
            ?? throw new InvalidOperationException($"cuda:{ordinal} is not a CUDA backend");
        var rt = (CudaRuntime)be.Runtime;
        log($"{rt.Name}, kernels {rt.KernelTarget}");
        var rows = new List<GpuRow>();

        double Time(Action op)
        {
            op(); rt.Synchronize();                 // warm-up (and cuDNN's algorithm search)
            var t = new List<double>();
            for (int r = 0; r < reps; r++) t.Add(rt.TimeMs(() => { for (int i = 0; i < iters; i++) op(); }) / iters);
            t.Sort();
            return t[t.Count / 2];
        }
        void Add(string name, string unit, double work, Action op)
        {
            double ms = Time(op);
            double rate = work / ms / 1e6; // FLOP or bytes per ms -> GFLOP/s or GB/s
            rows.Add(new GpuRow(name, unit, ms, rate, work));
            log($"{name}: {ms:F3} ms, {rate:F0} {unit}");
        }

        Tensor Rand(int[] shape, ulong seed) => Tensor.Uniform(shape, seed, 0, -1, 1, DType.F32, Device.Cuda(ordinal));

        // SGEMM
        foreach (int n in new[] { 4096, 8192 })
        {
            using var a = Rand([1, n, n], 1); using var b = Rand([1, n, n], 2);
            using var c = Tensor.Empty([1, n, n], DType.F32, Device.Cuda(ordinal));
            double flop = 2.0 * n * n * n;
            be.AllowTf32 = false;
            Add($"sgemm fp32 {n}^3", "GFLOP/s", flop, () => be.Matmul(a.Buf, b.Buf, c.Buf));
            be.AllowTf32 = true;
            Add($"sgemm tf32 {n}^3", "GFLOP/s", flop, () => be.Matmul(a.Buf, b.Buf, c.Buf));
            be.AllowTf32 = false;
        }

        // conv2d 3x3 64->64, N16 128x128, pad 1
        foreach (bool tf32 in new[] { false, true })
        {
            be.AllowTf32 = tf32;
            var p = new Conv2dParams(1, 1, 1, 1, 1, 1, 1);
            using var x = Rand([16, 64, 128, 128], 3); using var w = Rand([64, 64, 3, 3], 4);
            using var y = Tensor.Empty([16, 64, 128, 128], DType.F32, Device.Cuda(ordinal));
            using var gy = Rand([16, 64, 128, 128], 5);
            using var gx = Tensor.Empty([16, 64, 128, 128], DType.F32, Device.Cuda(ordinal));
            using var gw = Tensor.Empty([64, 64, 3, 3], DType.F32, Device.Cuda(ordinal));
            double flop = 2.0 * 16 * 64 * 128 * 128 * 64 * 9;
            string m = tf32 ? "tf32" : "fp32";
            Add($"conv3x3 64->64 N16 128x128 fwd {m}", "GFLOP/s", flop, () => be.Conv2d(x.Buf, w.Buf, null, y.Buf, p));
            Add($"conv3x3 64->64 N16 128x128 bwd-data {m}", "GFLOP/s", flop, () => be.Conv2dBackwardData(gy.Buf, w.Buf, gx.Buf, p));
            Add($"conv3x3 64->64 N16 128x128 bwd-filter {m}", "GFLOP/s", flop, () => be.Conv2dBackwardFilter(x.Buf, gy.Buf, gw.Buf, p));
        }
        be.AllowTf32 = false;

        // Elementwise add vs copy bandwidth (bytes moved: add reads 2 and writes 1, copy reads 1 and writes 1)
        {
            const int n = 1 << 28; // 1 GiB per f32 tensor
            using var a = Rand([n], 6); using var b = Rand([n], 7);
            using var y = Tensor.Empty([n], DType.F32, Device.Cuda(ordinal));
            ulong pa = ((CudaStorage)a.Storage).Ptr, py = ((CudaStorage)y.Storage).Ptr;
            Add("copy (cuMemcpyDtoD) 2^28 f32", "GB/s", 2.0 * 4 * n, () => rt.CopyDtoD(py, pa, 4L * n));
            Add("copy kernel 2^28 f32", "GB/s", 2.0 * 4 * n, () => be.Copy(a.Buf, y.Buf));
            Add("add 2^28 f32", "GB/s", 3.0 * 4 * n, () => be.Binary(BinaryOp.Add, a.Buf, b.Buf, y.Buf));
        }
        return rows;
    }

    public static void WriteJson(string path, List<GpuRow> rows, string device)
    {
        var doc = new { tool = "engine", device, rows = rows.Select(r => new { name = r.Name, unit = r.Unit, ms = r.Ms, rate = r.Rate }) };
        File.WriteAllText(path, JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true }));
    }
}
