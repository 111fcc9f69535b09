using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels;

namespace Testbed.Tests;

/// <summary>Two devices, two owners, one address space: private pages move between them through system memory.</summary>
public sealed class MultiDeviceTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void A_page_private_to_one_device_reaches_the_other_through_system_memory(AcceleratorType second)
    {
        using var t = new DriverFixture(AcceleratorType.Cpu);
        var va = t.Map(4);
        var policy = new MigratePolicy();
        var a = t.Mirror(va, 4, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 1 });
        var b = t.Mirror(va, 4, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 2 }, t.NewAccelerator(second));
        var work = DeviceWork.Adds(items: 8, opsPerItem: 16, firstWord: 0, span: 4 * t.WordsPerPage, stride: t.WordsPerPage);
        for (var round = 0; round < 3; round++)
        {
            Assert.Equal(Errno.Ok, a.Run(work));
            Assert.Equal(Errno.Ok, b.Run(work));
        }

        Assert.True(DevicePte.IsDevice(b.Lookup(va)));
        Assert.False(DevicePte.IsValid(a.Lookup(va)));
        Assert.True(a.Counters.MigrationsToRam >= 4 && b.Counters.MigrationsToDevice >= 4, $"A to RAM {a.Counters.MigrationsToRam}, B in {b.Counters.MigrationsToDevice}");
        Assert.Equal(6 * work.TotalOps, t.CpuRead(va, 4 * t.WordsPerPage).Sum(v => (long)v));
    }
}
