using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>
/// The driver's migration paths allocate nothing once warm, counted with the calling thread's
/// allocation counter (deterministic, unlike a timing): a CPU fault on a device page
/// (<c>DoSwapPage</c> + <c>MigrateToRam</c>), an eviction (<c>MigrateDeviceRange</c>), and the service
/// of device atomic faults that make system pages device-exclusive (nouveau's per-page interval
/// notifier around <c>MakeDeviceExclusive</c>).
/// </summary>
public sealed class AllocationTests
{
    private const int Pages = 32;

    [Fact]
    public void A_cpu_fault_on_a_device_page_allocates_nothing()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(1);
        var mirror = t.Mirror(va, 1, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        Assert.Equal(Errno.Ok, t.Cpu.Write(va, 7));
        var allocated = 0L;
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 1));
            var before = GC.GetAllocatedBytesForCurrentThread();
            var err = t.Cpu.Read(va, out int value);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal((Errno.Ok, 7), (err, value));
        }

        Assert.Equal(20, mirror.Counters.MigrationsToRam);
        Assert.Equal(0, allocated);
    }

    /// <summary>
    /// A run that faulted, serviced the faults and replayed allocates nothing, launches included, nor
    /// does a run that faults nothing: on the direct cpu runner, whose launches allocate nothing once
    /// warm. ILGPU's own launchers allocate per launch (the bench's kernel-launch probe reports how
    /// much), so on ilgpu-cpu and the GPUs a replay costs that much.
    /// </summary>
    [Fact]
    public void Device_atomic_faults_that_make_system_pages_exclusive_allocate_nothing_replays_included()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, nonCoherent: true);
        const int pages = 8;
        var va = t.Map(pages);
        var mirror = t.Mirror(va, pages, new ExclusivePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        var work = DeviceWork.Adds(items: pages, opsPerItem: 4, firstWord: 0, span: pages * t.WordsPerPage, stride: t.WordsPerPage);
        long faultRun = 0, launches = 0, quietRun = 0;
        for (var round = 1; round <= 10; round++)
        {
            // The CPU takes every page back, which revokes the device-exclusive entries.
            Assert.All(t.CpuRead(va, pages * t.WordsPerPage).Chunk(t.WordsPerPage), p => Assert.Equal((round - 1) * 8, p[0]));
            (faultRun, launches) = AllocatedByRun(mirror, work);
            Assert.Equal(round * pages, mirror.Counters.ExclusiveGrants);
            var (quiet, quietLaunches) = AllocatedByRun(mirror, work);
            Assert.Equal((1, round * pages), (quietLaunches, mirror.Counters.ExclusiveGrants));
            quietRun = quiet;
        }

        Assert.True(launches >= 2, $"the run faulted and replayed: {launches} launches");
        Assert.Equal((0L, 0L), (faultRun, quietRun));
    }

    /// <summary>Runs <paramref name="work"/>; returns the bytes the calling thread allocated and the launches it took.</summary>
    private static (long Bytes, long Launches) AllocatedByRun(MirrorDevice mirror, DeviceWork work)
    {
        var launches = mirror.Counters.Launches;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var err = mirror.Run(work);
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(Errno.Ok, err);
        return (bytes, mirror.Counters.Launches - launches);
    }

    [Fact]
    public void Evicting_every_device_page_allocates_nothing()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(Pages);
        var mirror = t.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = Pages, ChunkPages = 16 });
        var allocated = 0L;
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Pages));
            var before = GC.GetAllocatedBytesForCurrentThread();
            var moved = mirror.EvictAll();
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(Pages, moved);
        }

        Assert.Equal(0, allocated);
    }
}
