using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Testbed.Kernels.Benchmarks.AtomicThroughputBenchmarks).Assembly).Run(args);
