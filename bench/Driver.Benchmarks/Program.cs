using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Testbed.Driver.Benchmarks.DriverRig).Assembly).Run(args);
