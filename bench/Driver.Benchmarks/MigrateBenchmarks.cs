using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Testbed.Kernels.Accelerators;

namespace Testbed.Driver.Benchmarks;

/// <summary>
/// DESIGN §7, <c>migrate-vma</c>: the driver's <c>MigrateToDevice</c> of one 2 MiB block (collect and
/// unmap, allocate device frames, copy through the direct cpu runner, map, finalize) and its
/// eviction back (<c>MigrateDeviceRange</c> through the reverse map), against a plain memcpy of the
/// same 2 MiB, the physical floor. Each invocation moves the whole block once; the iteration set-up
/// moves it back, untimed. Target: MigrateToDevice at least 0.5x the memcpy's speed (Ratio at most 2).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Monitoring, launchCount: 1, warmupCount: 500, iterationCount: 500, invocationCount: 1)]
public unsafe class MigrateBenchmarks
{
    private const int Pages = 512;
    private DriverRig _rig = null!;
    private byte* _from;
    private byte* _to;

    private nuint Bytes => (nuint)Pages * (nuint)_rig.PageSize;

    [GlobalSetup]
    public void Setup()
    {
        _rig = new DriverRig(AcceleratorKind.Cpu, Pages, new MirrorOptions { DevicePages = Pages, ChunkPages = Pages });
        _from = (byte*)NativeMemory.AlignedAlloc(Bytes, 4096);
        _to = (byte*)NativeMemory.AlignedAlloc(Bytes, 4096);
        NativeMemory.Fill(_from, Bytes, 1);
        NativeMemory.Clear(_to, Bytes);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(_from);
        NativeMemory.AlignedFree(_to);
        _rig.Dispose();
    }

    [IterationSetup(Target = nameof(MigrateToDevice))]
    public void ToSystem() => _rig.Mirror.EvictAll();

    [IterationSetup(Target = nameof(Evict))]
    public void ToDevice() => _rig.Check(_rig.Mirror.MigrateToDevice(_rig.Va, Pages), "MigrateToDevice");

    [Benchmark(Baseline = true, Description = "memcpy 2 MiB")]
    public void Memcpy() => Buffer.MemoryCopy(_from, _to, Bytes, Bytes);

    [Benchmark(Description = "MigrateToDevice 2 MiB (system -> device)")]
    public void MigrateToDevice() => _rig.Check(_rig.Mirror.MigrateToDevice(_rig.Va, Pages), "MigrateToDevice");

    [Benchmark(Description = "EvictAll 2 MiB (device -> system)")]
    public long Evict() => _rig.Mirror.EvictAll();
}
