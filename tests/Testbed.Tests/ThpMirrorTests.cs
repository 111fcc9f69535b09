using Testbed.Driver;
using Testbed.Driver.Policies;
using Testbed.HostMm;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.Kernels.Accelerators;
using Testbed.Kernels.DeviceCode;
using Testbed.Scenarios;

namespace Testbed.Tests;

/// <summary>
/// The mirror driver with <see cref="MirrorOptions.Thp"/>: a device fault moves a THP whole into a
/// 2 MiB device folio, a CPU fault and eviction bring it back whole, and without a free chunk the
/// THP is split and moved page by page; every word ends exact and the teardown audit is clean.
/// </summary>
public sealed class ThpMirrorTests
{
    private const int Block = MirrorDevice.RangeBlockPages;

    [Fact]
    public void A_device_fault_moves_a_thp_whole_and_a_cpu_fault_brings_it_back_whole()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 48L << 20);
        var (va, shadow) = FilledThps(t, Block);
        Assert.Equal(PteKind.Present, t.Mm.GetPmd(va).Kind);
        var mirror = t.Mirror(va, Block, new MigratePolicy(), Options(2 * Block));

        var work = DeviceWork.Adds(items: 64, opsPerItem: 16, firstWord: 0, span: Block * t.WordsPerPage, stride: (8 * t.WordsPerPage) + 1, value: 3);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        Add(shadow, work);

        Assert.Equal(PteKind.DevicePrivate, t.Mm.GetPmd(va).Kind);
        Assert.Equal(PhysicalMemory.MaxOrder, t.Kernel.Memory.PfnToFolio(t.Mm.GetPmd(va).Pfn).Order);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.ThpMigrationSuccess]);
        Assert.True(DevicePte.IsDevice(mirror.Lookup(va + ((ulong)(Block - 1) * (ulong)t.PageSize))));
        Assert.Equal(Block, mirror.FreeDevicePages);

        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
        Assert.Equal(PteKind.Present, t.Mm.GetPmd(va).Kind);
        Assert.Equal(2, t.Kernel.Counters[MmEvent.ThpMigrationSuccess]);
        Assert.Equal(2 * Block, mirror.FreeDevicePages);
    }

    [Fact]
    public void Without_a_free_chunk_the_thp_is_split_and_moved_page_by_page()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 48L << 20);
        var (va, shadow) = FilledThps(t, Block);
        var mirror = t.Mirror(va, Block, new MigratePolicy(), Options(2 * Block));
        t.Kernel.FaultInjection.Arm(FaultPoint.DeviceAlloc, times: 1);

        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va, Block));

        Assert.Equal(1, t.Kernel.Counters[MmEvent.ThpMigrationSplit]);
        Assert.Equal(PteKind.None, t.Mm.GetPmd(va).Kind);
        Assert.Equal(PteKind.DevicePrivate, t.Mm.GetPte(va + (7 * (ulong)t.PageSize)).Kind);
        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
    }

    [Fact]
    public void Eviction_moves_whole_thps_and_keeps_every_word()
    {
        const int Pages = 4 * Block;
        using var t = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 64L << 20);
        var (va, shadow) = FilledThps(t, Pages);
        var mirror = t.Mirror(va, Pages, new MigratePolicy(), Options(2 * Block));

        for (var round = 0; round < 2; round++)
        {
            var work = DeviceWork.Adds(items: 256, opsPerItem: 8, firstWord: 0, span: Pages * t.WordsPerPage, stride: (8 * t.WordsPerPage) + 1, value: round + 1);
            Assert.Equal(Errno.Ok, mirror.Run(work));
            Add(shadow, work);
        }

        Assert.True(mirror.Counters.EvictedPages >= 2 * Block, $"{mirror.Counters.EvictedPages} pages evicted");
        Assert.Equal(0, mirror.Counters.EvictedPages % Block);
        Assert.True(t.Kernel.Counters[MmEvent.ThpMigrationSuccess] >= 6, $"{t.Kernel.Counters[MmEvent.ThpMigrationSuccess]} THP migrations");
        Assert.Equal(0, t.Kernel.Counters[MmEvent.ThpMigrationSplit]);
        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
    }

    [Fact]
    public void A_thp_moved_in_part_by_a_mirror_without_thp_is_split_first()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, memoryBytes: 48L << 20);
        var (va, shadow) = FilledThps(t, Block);
        var mirror = t.Mirror(va, Block, new MigratePolicy(), new MirrorOptions { DevicePages = 64, ChunkPages = 16 });

        Assert.Equal(Errno.Ok, mirror.MigrateToDevice(va + (16 * (ulong)t.PageSize), 16));

        Assert.Equal(1, t.Kernel.Counters[MmEvent.ThpSplitPmd]);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.ThpSplitPage]);
        Assert.Equal(PteKind.DevicePrivate, t.Mm.GetPte(va + (16 * (ulong)t.PageSize)).Kind);
        Assert.Equal(PteKind.Present, t.Mm.GetPte(va).Kind);
        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
    }

    [Fact]
    public void Device_atomics_on_a_page_of_a_thp_land_on_that_page()
    {
        using var t = new DriverFixture(AcceleratorKind.Cpu, nonCoherent: true, memoryBytes: 48L << 20);
        var (va, shadow) = FilledThps(t, Block);
        var mirror = t.Mirror(va, Block, new ExclusivePolicy(), Options(2 * Block));

        var work = DeviceWork.Adds(items: 16, opsPerItem: 4, firstWord: 5 * t.WordsPerPage, span: 40 * t.WordsPerPage, stride: t.WordsPerPage + 3, value: 9);
        Assert.Equal(Errno.Ok, mirror.Run(work));
        Add(shadow, work);

        Assert.True(mirror.Counters.ExclusiveGrants > 0);
        Assert.Equal(shadow, t.CpuRead(va, shadow.Length));
    }

    [Fact]
    public void Thp_needs_chunks_of_one_2mib_block()
    {
        var problem = new MirrorOptions { DevicePages = 64, ChunkPages = 16, Thp = true }.Validate();
        Assert.Equal("THP needs chunks of 512 pages, one 2 MiB device folio each (chunk pages: 16)", problem);
    }

    [Theory]
    [InlineData("pingpong")]
    [InlineData("oversubscription")]
    public void The_scenarios_run_with_thp_on_and_off_and_end_exact(string name)
    {
        var scenario = ScenarioCatalog.Find(name)!;
        var settings = new ScenarioSettings
        {
            Policies = ["migrate"],
            Pages = name == "pingpong" ? 8 : 16,
            Rounds = 2,
            Options = scenario.Options.ToDictionary(o => o.Name, o => o.Name == "thp" ? "off,on" : o.Default),
        };
        var result = scenario.Run(new ScenarioContext(settings, Accelerators.Entry(AcceleratorKind.Cpu)));

        Assert.All(result.Runs.SelectMany(r => r.Invariants), i => Assert.True(i.Held, $"{i.Name}: {i.Detail}"));
        Assert.Contains(result.Runs, r => r.Name.EndsWith("thp=off", StringComparison.Ordinal) && !r.Metrics.ContainsKey("thp_migrations"));
        Assert.All(result.Runs.Where(r => r.Name.EndsWith("thp=on", StringComparison.Ordinal)), r => Assert.True(r.Metrics["thp_migrations"].Value >= 1, r.Name));
        Assert.Equal("off,on", result.Parameters["thp"]);
        Assert.All(result.Runs, r => Assert.Equal(r.Name.EndsWith("thp=on", StringComparison.Ordinal) ? "on" : "off", r.Settings["thp"]));
        Assert.Contains(result.Runs, r => r.Settings["thp"] == "on" && int.Parse(r.Settings["pages"], System.Globalization.CultureInfo.InvariantCulture) % Block == 0);
    }

    private static MirrorOptions Options(int devicePages) => new() { DevicePages = devicePages, ChunkPages = Block, Thp = true };

    /// <summary>A 2 MiB-aligned <c>MADV_HUGEPAGE</c> range of <paramref name="pages"/> written from the CPU (so THPs back it) with a pattern, which is returned as the shadow.</summary>
    private static (ulong Va, int[] Shadow) FilledThps(DriverFixture t, int pages)
    {
        var va = MapThp(t, pages);
        var shadow = Pattern(t, pages);
        t.CpuWrite(va, shadow);
        return (va, shadow);
    }

    private static ulong MapThp(DriverFixture t, int pages)
    {
        var huge = t.Mm.PmdSize;
        Assert.Equal(Errno.Ok, t.Mm.Mmap(0, ((ulong)pages * (ulong)t.PageSize) + huge, Prot.ReadWrite, MmapFlags.Private, out var addr));
        var va = (addr + huge - 1) & ~(huge - 1);
        Assert.Equal(Errno.Ok, t.Mm.MadviseHugePage(va, (ulong)pages * (ulong)t.PageSize, HugePageAdvice.HugePage));
        return va;
    }

    private static int[] Pattern(DriverFixture t, int pages) =>
        [.. Enumerable.Range(0, pages * t.WordsPerPage).Select(i => unchecked((int)((uint)i * 2654435761u)))];

    private static void Add(int[] shadow, DeviceWork work)
    {
        for (var i = 0; i < work.Items; i++)
        {
            for (var k = 0; k < work.OpsPerItem; k++)
            {
                shadow[work.Target(i, k)] += work.Value;
            }
        }
    }
}
