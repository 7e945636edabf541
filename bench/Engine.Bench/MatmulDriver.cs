// Quick matmul throughput driver (`dotnet run -c Release --project bench/Engine.Bench -- matmul
// [sizes...]`): GFLOP/s of Ops.Matmul at a few sizes and thread counts, one JSON line each. The
// side-by-side figures against OpenBLAS and oneDNN are `engine bench cpu` and the BenchmarkDotNet
// classes beside this file.
using System.Diagnostics;
using Engine.Cpu;

namespace Engine.Bench;

public static class MatmulDriver
{
    public static void Run(string[] args)
    {
        int[] sizes = args.Length > 0 ? args.Select(int.Parse).ToArray() : [256, 512, 1024];
        Console.WriteLine($"cpu: {Environment.ProcessorCount} logical cores, .NET {Environment.Version}");
        foreach (int threads in new[] { 1, Environment.ProcessorCount }.Distinct())
        {
            CpuThreads.Count = threads;
            foreach (int n in sizes)
            {
                using var a = Tensor.Uniform([n, n], 1, 0, -1, 1);
                using var b = Tensor.Uniform([n, n], 2, 0, -1, 1);
                using (Ops.Matmul(a, b)) { } // warm-up
                int reps = Math.Max(1, (int)(2e9 / (2.0 * n * n * n)));
                var sw = Stopwatch.StartNew();
                for (int r = 0; r < reps; r++) using (Ops.Matmul(a, b)) { }
                double s = sw.Elapsed.TotalSeconds / reps;
                Console.WriteLine($"{{\"case\":\"matmul\",\"n\":{n},\"threads\":{threads},\"seconds\":{s:G4},\"gflops\":{2.0 * n * n * n / s / 1e9:F2}}}");
            }
        }
    }
}
