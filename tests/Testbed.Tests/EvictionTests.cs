using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.Kernels;

namespace Testbed.Tests;

/// <summary>Oversubscription: device memory smaller than the working set; eviction keeps every byte.</summary>
public sealed class EvictionTests
{
    [Theory]
    [MemberData(nameof(Accelerators.Available), MemberType = typeof(Accelerators))]
    public void Eviction_keeps_every_byte_of_a_working_set_twice_device_memory(AcceleratorType type)
    {
        const int Pages = 32;
        using var t = new DriverFixture(type);
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
        using var t = new DriverFixture(AcceleratorType.Cpu);
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
}
