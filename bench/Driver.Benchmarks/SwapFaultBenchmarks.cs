using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Testbed.Kernels.Accelerators;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// DESIGN §7, <c>swap-fault</c>: a CPU read of a page the device holds — TLB miss, walk to the
/// device-private entry, <c>DoSwapPage</c>, the driver's <c>MigrateToRam</c> (zap the device entry,
/// copy 4 KiB back, finalize), retry. One operation is one such read; the iteration set-up
/// migrates the pages to the device, untimed. Target: p50 at most 10 µs, p99 at most 50 µs (the
/// ratio suite reports the percentiles; this gives the mean and its spread).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 200, iterationCount: 200, invocationCount: 1)]
public class SwapFaultBenchmarks
{
    private const int Pages = 64;
    private DriverRig _rig = null!;

    [GlobalSetup]
    public void Setup() => _rig = new DriverRig(AcceleratorKind.Cpu, Pages, new MirrorOptions { DevicePages = Pages, ChunkPages = Pages });

    [GlobalCleanup]
    public void Cleanup() => _rig.Dispose();

    [IterationSetup]
    public void ToDevice() => _rig.Check(_rig.Mirror.MigrateToDevice(_rig.Va, Pages), "MigrateToDevice");

    [Benchmark(OperationsPerInvoke = Pages, Description = "CPU read of a device-private page (DoSwapPage + MigrateToRam)")]
    public int CpuFault()
    {
        var sum = 0;
        for (var p = 0; p < Pages; p++)
        {
            _rig.Check(_rig.Cpu.Read(_rig.Va + ((ulong)p * (ulong)_rig.PageSize), out int value), "read");
            sum += value;
        }

        return sum;
    }
}
