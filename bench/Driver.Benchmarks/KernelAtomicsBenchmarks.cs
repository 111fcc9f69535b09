using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Testbed.Bench;
using Testbed.Kernels;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// DESIGN §7, <c>kernel-atomics</c>: the driver's kernel (<see cref="MirrorKernels.DeviceOps"/>:
/// translate each address through the device page table, then <c>Atomic.Add</c> on device memory)
/// against the same adds on a plain buffer (<see cref="BenchKernels.PlainAdds"/>), on every backend
/// this machine offers. Every page stays resident, so no fault is taken (checked at cleanup): the
/// difference is translation and the driver's per-launch work. Target: at least 0.5x the plain
/// kernel's speed (Ratio at most 2).
/// </summary>
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15)]
public class KernelAtomicsBenchmarks
{
    private const int Pages = 64;
    private const int Items = 4096;
    private const int OpsPerItem = 64;
    private DriverRig _rig = null!;
    private DeviceWork _work;
    private MemoryBuffer1D<int> _plain = null!;
    private MemoryBuffer1D<int> _config = null!;
    private Action<Index1D, ArrayView<int>, ArrayView<int>> _launch = null!;
    private long _replays;

    /// <summary>Which backend.</summary>
    [ParamsSource(nameof(Backends))]
    public AcceleratorType Backend { get; set; }

    /// <summary>Every backend this machine offers.</summary>
    public static IEnumerable<AcceleratorType> Backends() => DriverRig.Backends();

    [GlobalSetup]
    public void Setup()
    {
        _rig = new DriverRig(Backend, Pages, new MirrorOptions { DevicePages = Pages, ChunkPages = Pages, OpsPerLaunch = OpsPerItem });
        var words = Pages * _rig.WordsPerPage;
        _work = DeviceWork.Adds(items: Items, opsPerItem: OpsPerItem, firstWord: 0, span: words, stride: _rig.WordsPerPage + 1);
        _rig.Check(_rig.Mirror.MigrateToDevice(_rig.Va, Pages), "MigrateToDevice");
        _rig.Check(_rig.Mirror.Run(_work), "Run");
        _replays = _rig.Mirror.Counters.Replays;
        _plain = _rig.Accelerator.Allocate1D<int>(words);
        _config = _rig.Accelerator.Allocate1D<int>(DeviceAccess.ConfigLength);
        _config.CopyFromCPU(BenchKernels.PlainAddsConfig(_work));
        _launch = _rig.Accelerator.LoadAutoGroupedKernel<ArrayView<int>, ArrayView<int>>(BenchKernels.PlainAdds);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var replays = _rig.Mirror.Counters.Replays - _replays;
        _plain.Dispose();
        _config.Dispose();
        _rig.Dispose();
        if (replays != 0)
        {
            throw new InvalidOperationException($"{replays} replays while timing: the pages should have stayed resident");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items * OpsPerItem, Description = "atomic add, plain buffer")]
    public void Plain()
    {
        _launch(Items, _plain.View, _config.View);
        _rig.Accelerator.Synchronize();
    }

    [Benchmark(OperationsPerInvoke = Items * OpsPerItem, Description = "atomic add through the device page table")]
    public void Translated() => _rig.Check(_rig.Mirror.Run(_work), "Run");
}
