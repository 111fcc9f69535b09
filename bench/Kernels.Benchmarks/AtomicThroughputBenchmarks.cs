using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;

namespace Testbed.Kernels.Benchmarks;

/// <summary>
/// Issue 4's atomic throughput per backend: every work item adds to a counter chosen by the
/// pattern — its own (distinct addresses), one of 64 (contended), or the same one for all.
/// One operation is one atomic add; the launch and its completion are included.
/// </summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class AtomicThroughputBenchmarks
{
    private const int Items = 1 << 18;
    private const int PerItem = 16;
    private Context _context = null!;
    private Accelerator _accelerator = null!;
    private MemoryBuffer1D<int> _counters = null!;
    private Action<Index1D, ArrayView<int>, int> _kernel = null!;

    /// <summary>Which backend.</summary>
    [ParamsSource(nameof(Backends))]
    public AcceleratorType Backend { get; set; }

    /// <summary>How many counters the adds spread over.</summary>
    [Params(Items, 64, 1)]
    public int Counters { get; set; }

    /// <summary>Every backend this machine offers.</summary>
    public static IEnumerable<AcceleratorType> Backends()
    {
        using var context = Context.CreateDefault();
        return [.. Enum.GetValues<AcceleratorType>().Where(t => context.GetDevice(t) is not null)];
    }

    [GlobalSetup]
    public void Setup()
    {
        _context = Context.CreateDefault();
        _accelerator = _context.GetDevice(Backend)!.CreateAccelerator();
        _counters = _accelerator.Allocate1D<int>(Counters);
        _kernel = _accelerator.LoadAutoGroupedKernel<ArrayView<int>, int>(BenchmarkKernels.AddToCounters);
        _kernel(Items, _counters.View, PerItem);
        _accelerator.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _counters.Dispose();
        _accelerator.Dispose();
        _context.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Items * PerItem, Description = "atomic add")]
    public void AtomicAdd()
    {
        _kernel(Items, _counters.View, PerItem);
        _accelerator.Synchronize();
    }
}

/// <summary>The benchmark's kernel.</summary>
public static class BenchmarkKernels
{
    [Kernel]
    public static void AddToCounters(Index1D i, ArrayView<int> counters, int perItem)
    {
        var slot = i % counters.IntLength;
        for (var k = 0; k < perItem; k++)
        {
            Atomic.Add(ref counters[slot], 1);
        }
    }
}
