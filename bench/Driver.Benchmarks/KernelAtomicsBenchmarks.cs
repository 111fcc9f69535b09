using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using ILGPU;
using ILGPU.Runtime;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// DESIGN §7, <c>kernel-atomics</c>: the driver's kernel (<see cref="MirrorWorkload.DeviceOps"/>:
/// translate each address through the device page table, then <c>Atomic.Add</c> on device memory)
/// against the same adds on a plain buffer (<see cref="BenchmarkKernels.PlainAdds"/>), on every accelerator
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
    private MemoryBuffer1D<int, Stride1D.Dense> _plain = null!;
    private Action<Index1D, ArrayView<int>, DeviceWork> _launch = null!;
    private long _replays;

    /// <summary>Which accelerator.</summary>
    [ParamsSource(nameof(Backends))]
    public AcceleratorKind Backend { get; set; }

    /// <summary>Every accelerator this machine offers.</summary>
    public static IEnumerable<AcceleratorKind> Backends() => DriverRig.Backends();

    [GlobalSetup]
    public void Setup()
    {
        _rig = new DriverRig(Backend, Pages, new MirrorOptions { DevicePages = Pages, ChunkPages = Pages, OpsPerLaunch = OpsPerItem });
        var words = Pages * _rig.WordsPerPage;
        _work = DeviceWork.Adds(items: Items, opsPerItem: OpsPerItem, firstWord: 0, span: words, stride: _rig.WordsPerPage + 1);
        _rig.Check(_rig.Mirror.MigrateToDevice(_rig.Va, Pages), "MigrateToDevice");
        _rig.Check(_rig.Mirror.Run(_work), "Run");
        _replays = _rig.Mirror.Counters.Replays;
        _plain = _rig.Runner.Allocate1D<int>(words);
        _launch = _rig.Runner.LoadAutoGroupedStreamKernel<ArrayView<int>, DeviceWork>(BenchmarkKernels.PlainAdds);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        var replays = _rig.Mirror.Counters.Replays - _replays;
        _plain.Dispose();
        _rig.Dispose();
        if (replays != 0)
        {
            throw new InvalidOperationException($"{replays} replays while timing: the pages should have stayed resident");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Items * OpsPerItem, Description = "atomic add, plain buffer")]
    public void Plain()
    {
        _launch(Items, _plain.View, _work);
        _rig.Runner.Synchronize();
    }

    [Benchmark(OperationsPerInvoke = Items * OpsPerItem, Description = "atomic add through the device page table")]
    public void Translated() => _rig.Check(_rig.Mirror.Run(_work), "Run");
}
