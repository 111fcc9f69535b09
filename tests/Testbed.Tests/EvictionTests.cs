using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Scenarios;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;

namespace Testbed.Tests;

/// <summary>Oversubscription: device memory smaller than the working set; eviction keeps every byte.</summary>
public sealed class EvictionTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Eviction_keeps_every_byte_of_a_working_set_twice_device_memory(AcceleratorKind kind)
    {
        const int Pages = 32;
        using var t = new DriverFixture(kind);
        var va = t.Map(Pages);
        var shadow = Enumerable.Range(0, Pages * t.WordsPerPage).Select(i => (i * 2654435761u).GetHashCode()).ToArray();
        t.CpuWrite(va, shadow);
        var mirror = t.Mirror(va, Pages, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 4 });
        var half = Pages / 2 * t.WordsPerPage;
        DeviceWork[] works =
        [
            DeviceWork.Adds(items: 64, opsPerItem: 40, firstWord: 0, span: half, stride: t.WordsPerPage + 1, value: 3),
            DeviceWork.Adds(items: 64, opsPerItem: 40, firstWord: half, span: half, stride: t.WordsPerPage + 1, value: 5),
            DeviceWork.Adds(items: 64, opsPerItem: 40, firstWord: 0, span: 2 * half, stride: t.WordsPerPage - 1, value: 7),
        ];
        foreach (var work in works)
        {
            Assert.Equal(Errno.Ok, mirror.Run(work));
            for (var i = 0; i < work.Items; i++)
            {
                for (var k = 0; k < work.OpsPerItem; k++)
                {
                    shadow[work.Target(i, k)] += work.Value;
                }
            }
        }

        Assert.True(mirror.Counters.EvictedPages >= 16, $"{mirror.Counters.EvictedPages} pages evicted");
        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
    }

    [Fact]
    public void The_victim_is_the_chunk_least_recently_allocated_from()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu);
        var va = t.Map(12);
        var mirror = t.Mirror(va, 12, new MigratePolicy(), new MirrorOptions { DevicePages = 8, ChunkPages = 4 });
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 4));
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va + (4 * (ulong)t.PageSize), 4));
        Assert.Equal(0, mirror.FreeDevicePages);
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va + (8 * (ulong)t.PageSize), 4));
        Assert.Equal(1, mirror.Counters.EvictedChunks);
        Assert.False(DevicePte.IsValid(mirror.Lookup(va)));
        Assert.True(DevicePte.IsDevice(mirror.Lookup(va + (4 * (ulong)t.PageSize))));
        Assert.True(DevicePte.IsDevice(mirror.Lookup(va + (8 * (ulong)t.PageSize))));
    }

    /// <summary>
    /// A device frame someone still references after the last eviction keeps the device from
    /// unregistering its memory: the rig's teardown reports it as failed invariants, the frame in the
    /// audit, instead of throwing from inside (a CLI run printed a stack trace and aborted).
    /// </summary>
    [Fact]
    public void A_device_frame_still_referenced_at_teardown_is_a_failed_invariant_not_an_exception()
    {
        using var rig = new ScenarioRig(new ScenarioContext(new ScenarioSettings(), AcceleratorCatalog.Cpu), LinkCoherence.Native);
        var va = rig.Map(1);
        var mirror = rig.Mirror(va, 1, new MigratePolicy(), new MirrorOptions { DevicePages = 16, ChunkPages = 16 });
        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, 1));
        var pagemap = mirror.Pagemap;
        var held = Enumerable.Range(0, pagemap.NrPages).Select(i => pagemap.PfnToFolio(pagemap.PfnBase + i)).Single(f => !f.IsFree);
        Assert.True(held.TryGet());

        var invariants = rig.TearDown();
        var released = Assert.Single(invariants, i => i.Name == "devices_released");
        Assert.False(released.Held);
        Assert.Contains("1 device frames are still in use after eviction (EBUSY)", released.Detail);
        Assert.Contains(invariants, i => i.Name == "frames_balanced" && !i.Held && i.Detail.Contains("device pagemap(s) still registered (1 device frame(s) in use)", StringComparison.Ordinal));
    }
}
