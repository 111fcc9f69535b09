using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Testbed.Benchmarks.TlbHitBenchmarks).Assembly).Run(args);
