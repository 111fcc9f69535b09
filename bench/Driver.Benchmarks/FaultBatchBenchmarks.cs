using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// DESIGN §7, <c>fault-batch</c>: a kernel touches 4096 pages that live in system memory; the
/// driver drains the fault buffer, coalesces and sorts each batch and services it under the
/// <c>migrate</c> policy, then replays. One operation is one page faulted in, launches and replays
/// included (the ratio suite's probe counts the service time alone). The iteration set-up evicts
/// every page, untimed. Target: service at most 5 µs per fault.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 50, iterationCount: 50, invocationCount: 1)]
public class FaultBatchBenchmarks
{
    private const int Pages = 4096;
    private DriverRig _rig = null!;
    private DeviceWork _work;

    /// <summary>Faults serviced per batch.</summary>
    [Params(32, 256, 1024)]
    public int Batch { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _rig = new DriverRig(AcceleratorKind.Cpu, Pages, new MirrorOptions { DevicePages = Pages, ChunkPages = Pages / 8, FaultBatchSize = Batch, FaultBufferCapacity = Pages }, (Pages * 4096L * 2) + (64L << 20));
        _work = DeviceWork.Adds(items: Pages, opsPerItem: 1, firstWord: 0, span: (long)Pages * _rig.WordsPerPage, stride: _rig.WordsPerPage);
    }

    [GlobalCleanup]
    public void Cleanup() => _rig.Dispose();

    [IterationSetup]
    public void ToSystem() => _rig.Mirror.EvictAll();

    [Benchmark(OperationsPerInvoke = Pages, Description = "GPU fault, serviced in batches (migrate policy)")]
    public void FaultIn() => _rig.Check(_rig.Mirror.Run(_work), "Run");
}
