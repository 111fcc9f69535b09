using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Kernels.Runners;

namespace Testbed.Kernels.Benchmarks;

/// <summary>
/// Atomic throughput per accelerator: every work item adds to a counter chosen by the pattern — its
/// own (distinct addresses), one of 64 (contended), or the same one for all
/// (<see cref="BenchmarkKernels.AddToCounters"/>). One operation is one atomic add; the launch and its
/// completion are included. On the direct cpu runner and ILGPU's CPU accelerator side by side, this is
/// the price of ILGPU's reference semantics; <c>[MemoryDiagnoser]</c> shows what a launch allocates.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class AtomicThroughputBenchmarks
{
    private const int Items = 1 << 18;
    private const int PerItem = 16;
    private KernelRunner _runner = null!;
    private MemoryBuffer1D<int, Stride1D.Dense> _counters = null!;
    private Action<Index1D, ArrayView<int>, int> _kernel = null!;

    /// <summary>Which accelerator.</summary>
    [ParamsSource(nameof(Backends))]
    public AcceleratorKind Backend { get; set; }

    /// <summary>How many counters the adds spread over.</summary>
    [Params(Items, 64, 1)]
    public int Counters { get; set; }

    /// <summary>Every accelerator this machine offers.</summary>
    public static IEnumerable<AcceleratorKind> Backends() => [.. AcceleratorKinds.All.Where(k => AcceleratorCatalog.Find(k).IsAvailable)];

    [GlobalSetup]
    public void Setup()
    {
        _runner = AcceleratorCatalog.Find(Backend).CreateRunner();
        _counters = _runner.Allocate1D<int>(Counters);
        _kernel = _runner.LoadAutoGroupedStreamKernel<ArrayView<int>, int>(BenchmarkKernels.AddToCounters);
        _kernel(Items, _counters.View, PerItem);
        _runner.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _counters.Dispose();
        _runner.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Items * PerItem, Description = "atomic add")]
    public void AtomicAdd()
    {
        _kernel(Items, _counters.View, PerItem);
        _runner.Synchronize();
    }
}
