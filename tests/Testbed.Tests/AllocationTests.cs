using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels;

namespace Testbed.Tests;

/// <summary>
/// The driver's migration paths allocate nothing once warm, counted with the calling thread's
/// allocation counter (deterministic, unlike a timing): a CPU fault on a device page
/// (<c>DoSwapPage</c> + <c>MigrateToRam</c>) and an eviction (<c>MigrateDeviceRange</c>).
/// </summary>
public sealed class AllocationTests
{
    private const int Pages = 32;

    [Fact]
    public void A_cpu_fault_on_a_device_page_allocates_nothing()
    {
        using var t = new DriverFixture(AcceleratorType.Cpu);
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

    [Fact]
    public void Evicting_every_device_page_allocates_nothing()
    {
        using var t = new DriverFixture(AcceleratorType.Cpu);
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
