using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Tests.Hmm;

namespace Testbed.HostMm.Tests.Mm;

/// <summary>
/// Transparent huge pages mapped by a PMD entry: when a fault makes one, what the CPU TLB holds,
/// and how munmap, mprotect, MADV_DONTNEED, fork, device exclusivity and eviction split or keep it.
/// Each test ends with the fixture's teardown audit, so a reference lost in a split is a failure.
/// </summary>
public sealed class HugePmdTests : IDisposable
{
    private readonly MmFixture _t = new(memoryBytes: 32L << 20);

    private ulong TwoMeg => _t.Mm.PmdSize;

    private ulong Pages => TwoMeg / _t.PageSize;

    public void Dispose() => _t.Dispose();

    [Fact]
    public void A_write_fault_in_a_hugepage_vma_maps_a_thp_with_one_pmd_and_one_tlb_entry()
    {
        var map = MapHuge();

        Assert.Equal(Errno.Ok, _t.Cpu.Write(map + 8, 1L));
        for (ulong p = 0; p < Pages; p++)
        {
            Assert.Equal(Errno.Ok, _t.Cpu.Write(map + (p * _t.PageSize), (long)p));
        }

        var pmd = _t.Mm.GetPmd(map);
        var folio = _t.Kernel.Memory.PfnToFolio(pmd.Pfn);
        Assert.Equal((PteKind.Present, true), (pmd.Kind, pmd.Write));
        Assert.Equal((PhysicalMemory.MaxOrder, 1, 1), (folio.Order, folio.RefCount, folio.MapCount));
        Assert.Equal(PteKind.None, _t.Mm.GetPte(map).Kind);
        Assert.Equal((long)Pages, _t.Mm.Rss.AnonPages);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpFaultAlloc]);
        Assert.Equal(1, _t.Cpu.TlbMisses);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(map + (300 * _t.PageSize), out long back));
        Assert.Equal(300L, back);
    }

    [Theory]
    [InlineData(TransparentHugepage.Madvise, HugePageAdvice.Default, false)]
    [InlineData(TransparentHugepage.Madvise, HugePageAdvice.HugePage, true)]
    [InlineData(TransparentHugepage.Always, HugePageAdvice.Default, true)]
    [InlineData(TransparentHugepage.Always, HugePageAdvice.NoHugePage, false)]
    [InlineData(TransparentHugepage.Never, HugePageAdvice.HugePage, false)]
    public void The_system_setting_and_the_vma_flag_decide_where_thps_go(TransparentHugepage mode, HugePageAdvice advice, bool huge)
    {
        _t.Kernel.TransparentHugepage = mode;
        var map = MapHuge(advice);

        Assert.Equal(Errno.Ok, _t.Cpu.Write(map, 1L));

        Assert.Equal(huge ? PteKind.Present : PteKind.None, _t.Mm.GetPmd(map).Kind);
        Assert.Equal(huge ? PteKind.None : PteKind.Present, _t.Mm.GetPte(map).Kind);
    }

    [Fact]
    public void Read_faults_map_the_small_zero_page_and_a_span_that_leaves_the_vma_gets_no_thp()
    {
        var map = MapHuge();
        Assert.Equal(Errno.Ok, _t.Cpu.Read(map, out long _));
        Assert.Equal(_t.Kernel.ZeroPage.Pfn, _t.Mm.GetPte(map).Pfn);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(map + _t.PageSize, 1L));
        Assert.Equal(PteKind.None, _t.Mm.GetPmd(map).Kind);

        Assert.Equal(Errno.Ok, _t.Mm.Mmap(map + (4 * TwoMeg) + _t.PageSize, TwoMeg, Prot.ReadWrite, MmapFlags.Private | MmapFlags.FixedNoReplace, out var unaligned));
        Assert.Equal(Errno.Ok, _t.Mm.MadviseHugePage(unaligned, TwoMeg, HugePageAdvice.HugePage));
        Assert.Equal(Errno.Ok, _t.Cpu.Write(unaligned, 1L));
        Assert.Equal(PteKind.None, _t.Mm.GetPmd(unaligned).Kind);
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.ThpFaultAlloc]);
    }

    [Fact]
    public void Without_a_free_2mib_block_the_fault_falls_back_to_a_small_page()
    {
        var map = MapHuge();
        _t.Kernel.FaultInjection.Arm(FaultPoint.ThpAlloc, times: 1);

        Assert.Equal(Errno.Ok, _t.Cpu.Write(map, 1L));

        Assert.Equal(PteKind.Present, _t.Mm.GetPte(map).Kind);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpFaultFallback]);
    }

    [Fact]
    public void A_partial_munmap_splits_the_pmd_keeps_the_rest_and_frees_the_thp_with_its_last_page()
    {
        var map = FilledThp();
        var folio = ThpAt(map);
        var before = _t.Kernel.FramesInUse;

        Assert.Equal(Errno.Ok, _t.Mm.Munmap(map + (64 * _t.PageSize), 64 * _t.PageSize));

        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);
        Assert.Equal(PteKind.None, _t.Mm.GetPmd(map).Kind);
        Assert.Equal((folio.Pfn + 200, true), (_t.Mm.GetPte(map + (200 * _t.PageSize)).Pfn, _t.Mm.GetPte(map + (200 * _t.PageSize)).Write));
        Assert.Equal((448, 448), (folio.RefCount, folio.MapCount));
        Assert.Equal((long)Pages - 64, _t.Mm.Rss.AnonPages);
        Assert.Equal(200L, ReadLong(map + (200 * _t.PageSize)));
        Assert.Equal(Errno.EFAULT, _t.Cpu.Read(map + (64 * _t.PageSize), out long _));

        Assert.Equal(Errno.Ok, _t.Mm.Munmap(map, TwoMeg));
        Assert.Equal(before - (long)Pages, _t.Kernel.FramesInUse);
    }

    [Fact]
    public void A_partially_unmapped_thp_waits_on_the_deferred_split_queue_until_the_shrinker_frees_its_unmapped_pages()
    {
        var map = FilledThp();
        var folio = ThpAt(map);
        var before = _t.Kernel.FramesInUse;

        Assert.Equal(Errno.Ok, _t.Mm.Munmap(map + (64 * _t.PageSize), 64 * _t.PageSize));
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpDeferredSplitPage]);
        Assert.Equal(before, _t.Kernel.FramesInUse);

        Assert.Equal(64, _t.Kernel.ShrinkDeferredSplit());

        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPage]);
        Assert.Equal((0, 1, 1), (folio.Order, folio.RefCount, folio.MapCount));
        Assert.Equal(before - 64, _t.Kernel.FramesInUse);
        Assert.Equal(200L, ReadLong(map + (200 * _t.PageSize)));
        Assert.Equal(0, _t.Kernel.ShrinkDeferredSplit());
    }

    [Fact]
    public void A_fault_that_finds_no_free_page_runs_the_deferred_split_shrinker()
    {
        using var t = new MmFixture(memoryBytes: 8L << 20);
        var map = t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _);
        Assert.Equal(Errno.Ok, t.Cpu.Write(map, 1L));
        Assert.Equal(PteKind.Present, t.Mm.GetPmd(map).Kind);
        Assert.Equal(Errno.Ok, t.Mm.Munmap(map + (TwoMeg / 2), TwoMeg / 2));
        var free = t.Kernel.Memory.FreeFrames;

        Assert.Equal(Errno.Ok, t.Mm.Mmap(0, 8L << 20, Prot.ReadWrite, MmapFlags.Private, out var other));
        var faulted = 0L;
        while (t.Cpu.Write(other + ((ulong)faulted * t.PageSize), 1L) == Errno.Ok)
        {
            faulted++;
        }

        Assert.Equal(free + (long)(Pages / 2), faulted);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.ThpSplitPage]);
        Assert.Equal(1L, ReadLong(t, map));
    }

    [Fact]
    public void The_compaction_sweep_visits_a_large_folio_once()
    {
        var map = FilledThp();
        Assert.Equal(map + TwoMeg, Migrate.CompactionAdversary.NextFolio(_t.Mm, map + (5 * _t.PageSize)));

        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(map, 16 * _t.PageSize, Prot.Read));
        Assert.Equal(map + TwoMeg, Migrate.CompactionAdversary.NextFolio(_t.Mm, map + (5 * _t.PageSize)));

        var small = _t.Map(2);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(small, 1L));
        Assert.Equal(small + _t.PageSize, Migrate.CompactionAdversary.NextFolio(_t.Mm, small));
        Assert.Equal(small + (2 * _t.PageSize), Migrate.CompactionAdversary.NextFolio(_t.Mm, small + _t.PageSize));
    }

    [Fact]
    public void Munmap_of_the_whole_span_zaps_the_pmd_without_a_split()
    {
        var map = FilledThp();
        var before = _t.Kernel.FramesInUse;

        Assert.Equal(Errno.Ok, _t.Mm.Munmap(map, TwoMeg));

        Assert.Equal(0, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);
        Assert.Equal(before - (long)Pages, _t.Kernel.FramesInUse);
        Assert.Equal(0, _t.Mm.Rss.AnonPages);
    }

    [Fact]
    public void Mprotect_changes_a_whole_pmd_in_place_and_splits_one_it_cuts()
    {
        var map = FilledThp();

        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(map, TwoMeg, Prot.Read));
        Assert.Equal((PteKind.Present, false), (_t.Mm.GetPmd(map).Kind, _t.Mm.GetPmd(map).Write));
        Assert.Equal(Errno.EFAULT, _t.Cpu.Write(map, 1L));

        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(map, 16 * _t.PageSize, Prot.ReadWrite));
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(map, 7L));
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(map + (100 * _t.PageSize)).Kind);
        Assert.Equal(Errno.EFAULT, _t.Cpu.Write(map + (16 * _t.PageSize), 1L));
        Assert.Equal(7L, ReadLong(map));
    }

    [Fact]
    public void Madvise_dontneed_of_part_of_a_thp_splits_it_and_zeroes_only_that_part()
    {
        var map = FilledThp();

        Assert.Equal(Errno.Ok, _t.Mm.MadviseDontNeed(map + (10 * _t.PageSize), 2 * _t.PageSize));

        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);
        Assert.Equal(0L, ReadLong(map + (10 * _t.PageSize)));
        Assert.Equal(12L, ReadLong(map + (12 * _t.PageSize)));
        Assert.Equal(9L, ReadLong(map + (9 * _t.PageSize)));

        Assert.Equal(Errno.Ok, _t.Mm.MadviseDontNeed(map, TwoMeg));
        Assert.Equal(0, _t.Mm.Rss.AnonPages);
    }

    [Fact]
    public void Fork_shares_the_thp_read_only_and_a_write_splits_the_writer_and_copies_one_page()
    {
        var map = FilledThp();
        var folio = ThpAt(map);
        using var child = _t.Mm.ForkOk();
        using var childCpu = new CpuContext(child);

        Assert.Equal((2, 2), (folio.RefCount, folio.MapCount));
        Assert.False(_t.Mm.GetPmd(map).Write);
        Assert.False(child.GetPmd(map).Write);

        Assert.Equal(Errno.Ok, _t.Cpu.Write(map + (5 * _t.PageSize), -5L));

        Assert.Equal(PteKind.None, _t.Mm.GetPmd(map).Kind);
        Assert.NotEqual(folio.Pfn + 5, _t.Mm.GetPte(map + (5 * _t.PageSize)).Pfn);
        Assert.Equal(folio.Pfn + 6, _t.Mm.GetPte(map + (6 * _t.PageSize)).Pfn);
        Assert.Equal(PteKind.Present, child.GetPmd(map).Kind);
        Assert.Equal(Errno.Ok, childCpu.Read(map + (5 * _t.PageSize), out long childSees));
        Assert.Equal(5L, childSees);
        Assert.Equal(-5L, ReadLong(map + (5 * _t.PageSize)));
    }

    [Fact]
    public void An_only_mapping_of_a_read_only_thp_is_reused_on_write()
    {
        var map = FilledThp();
        using (var child = _t.Mm.ForkOk())
        {
        }

        Assert.Equal(Errno.Ok, _t.Cpu.Write(map, 3L));

        Assert.Equal((PteKind.Present, true), (_t.Mm.GetPmd(map).Kind, _t.Mm.GetPmd(map).Write));
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.ThpSplitPmd]);
    }

    [Fact]
    public void Device_exclusive_access_splits_the_pmd_first()
    {
        var map = FilledThp();
        var folio = ThpAt(map);
        var dev = new Dmirror(_t.Kernel, _t.Mm, 4);
        try
        {
            Assert.Equal(Errno.Ok, dev.MakeExclusive(map + (3 * _t.PageSize), 1));

            Assert.Equal(PteKind.None, _t.Mm.GetPmd(map).Kind);
            Assert.Equal((PteKind.DeviceExclusive, folio.Pfn + 3), (_t.Mm.GetPte(map + (3 * _t.PageSize)).Kind, _t.Mm.GetPte(map + (3 * _t.PageSize)).Pfn));
            Assert.Equal(3L, ReadLong(map + (3 * _t.PageSize)));
        }
        finally
        {
            dev.Remove();
        }
    }

    [Fact]
    public void A_device_thp_shared_by_fork_comes_back_whole_for_both_address_spaces()
    {
        var map = FilledThp();
        var dev = new Dmirror(_t.Kernel, _t.Mm, 1024);
        try
        {
            Assert.Equal(Errno.Ok, dev.MigrateToDevice(map, Pages));
            using var child = _t.Mm.ForkOk();
            using var childCpu = new CpuContext(child);
            Assert.Equal(PteKind.DevicePrivate, child.GetPmd(map).Kind);

            Assert.Equal(77L, ReadLong(map + (77 * _t.PageSize)));

            var back = ThpAt(map);
            Assert.Equal(PteKind.Present, child.GetPmd(map).Kind);
            Assert.Equal(back.Pfn, child.GetPmd(map).Pfn);
            Assert.Equal((2, 2), (back.RefCount, back.MapCount));
            Assert.Equal(Errno.Ok, childCpu.Read(map + (78 * _t.PageSize), out long childSees));
            Assert.Equal(78L, childSees);
            Assert.Equal(1024, dev.FreePages);
        }
        finally
        {
            dev.Remove();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Eviction_moves_a_device_thp_whole_or_split(bool failAlloc)
    {
        var map = FilledThp();
        var dev = new Dmirror(_t.Kernel, _t.Mm, 1024);
        Assert.Equal(Errno.Ok, dev.MigrateToDevice(map, Pages));
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPmd(map).Kind);

        dev.FailAlloc = failAlloc;
        dev.EvictAll();

        Assert.Equal(failAlloc ? PteKind.None : PteKind.Present, _t.Mm.GetPmd(map).Kind);
        Assert.Equal(failAlloc ? 1 : 0, _t.Kernel.Counters[MmEvent.ThpMigrationSplit]);
        Assert.Equal(1024, dev.FreePages);
        for (ulong p = 0; p < Pages; p += 37)
        {
            Assert.Equal((long)p, ReadLong(map + (p * _t.PageSize)));
        }

        dev.Remove();
    }

    private ulong MapHuge(HugePageAdvice advice = HugePageAdvice.HugePage) => _t.MapHuge(2 * TwoMeg, Prot.ReadWrite, out _, advice);

    /// <summary>A THP whose page p holds p in its first 8 bytes.</summary>
    private ulong FilledThp()
    {
        var map = MapHuge();
        for (ulong p = 0; p < Pages; p++)
        {
            Assert.Equal(Errno.Ok, _t.Cpu.Write(map + (p * _t.PageSize), (long)p));
        }

        Assert.Equal(PteKind.Present, _t.Mm.GetPmd(map).Kind);
        return map;
    }

    private Folio ThpAt(ulong va) => _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPmd(va) is { Kind: not PteKind.None } pmd ? pmd.Pfn : _t.Mm.GetPte(va).Pfn);

    private long ReadLong(ulong va) => ReadLong(_t, va);

    private static long ReadLong(MmFixture t, ulong va)
    {
        Assert.Equal(Errno.Ok, t.Cpu.Read(va, out long value));
        return value;
    }
}
