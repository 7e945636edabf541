// Benchmark entry point.
//   matmul [sizes...]   the quick matmul throughput driver (MatmulDriver.cs)
//   anything else       BenchmarkDotNet's switcher over the [Benchmark] classes in this assembly
//                       (GemmBenchmarks, ConvBenchmarks: ours vs OpenBLAS / oneDNN, anchor = baseline),
//                       e.g. `--filter '*Gemm*'`, `--list flat`, `--job short`.
using BenchmarkDotNet.Running;
using Engine.Bench;

if (args.Length > 0 && args[0] == "matmul")
{
    MatmulDriver.Run(args[1..]);
    return 0;
}
BenchmarkSwitcher.FromAssembly(typeof(MatmulDriver).Assembly).Run(args);
return 0;
