using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>Two devices, two owners, one address space: private pages move between them through system memory.</summary>
public sealed class MultiDeviceTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void A_page_private_to_one_device_reaches_the_other_through_system_memory(AcceleratorKind second)
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(4);
        var policy = new MigratePolicy();
        var a = t.Mirror(va, 4, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 1 });
        var b = t.Mirror(va, 4, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 2 }, t.NewRunner(second));
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

    [Fact]
    public void A_page_staged_from_one_device_to_the_other_is_no_cpu_fault_and_no_migration_to_system_memory_for_the_policy()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(2);
        var policy = new ScriptedPolicy(_ => GpuFaultAction.Migrate);
        var a = t.Mirror(va, 2, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 1 });
        var b = t.Mirror(va, 2, policy, new MirrorOptions { DevicePages = 16, ChunkPages = 16, ProcessorId = 2 });
        Assert.Equal(Errno.Ok, a.MigrateToDevice(va, 2));

        // The user's migration to B, then A's device fault, each stage both pages through system memory.
        Assert.Equal(Errno.Ok, b.MigrateToDevice(va, 2));
        Assert.Equal(Errno.Ok, a.Run(DeviceWork.Adds(items: 2, opsPerItem: 1, firstWord: 0, span: 2 * t.WordsPerPage, stride: t.WordsPerPage)));
        Assert.Equal([(0L, 2), (1L, 2), (0L, 1), (1L, 1)], policy.Staged);
        Assert.Equal((2L, 2L, 0L, 0L), (a.Counters.StagedOut, b.Counters.StagedOut, a.Counters.CpuFaults, b.Counters.CpuFaults));

        // Only the CPU's own faults are CPU faults and migrations to system memory.
        Assert.Equal([1, 1], t.CpuRead(va, 2 * t.WordsPerPage).Where((_, i) => i % t.WordsPerPage == 0));
        Assert.Equal([(0L, 2), (1L, 2), (0L, 1), (1L, 1), (0L, 0), (1L, 0)], policy.Asked);
        Assert.Equal([(0L, 1, true), (1L, 1, true), (0L, 2, true), (1L, 2, true), (0L, 1, false), (1L, 1, false), (0L, 0, false), (1L, 0, false)], policy.Migrations);
        Assert.Equal((4L, 2L, 2L), (a.Counters.MigrationsToRam, b.Counters.MigrationsToRam, a.Counters.CpuFaults));
    }
}
