using Testbed.HostMm.Cpu;
using Testbed.HostMm.Notifiers;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Mm;

public sealed class FaultTests
{
    [Fact]
    public void Read_fault_maps_the_zero_page_and_a_write_replaces_it_with_a_private_page()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 8, out long v));
        Assert.Equal(0, v);
        var pte = t.Mm.GetPte(a);
        Assert.Equal(PteKind.Present, pte.Kind);
        Assert.False(pte.Write);
        Assert.Equal(t.Kernel.ZeroPage.Pfn, pte.Pfn);
        Assert.Equal(0, t.Mm.Rss.AnonPages);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultZeroPage]);

        Assert.Equal(Errno.Ok, t.Cpu.Write(a + 8, 99L));
        pte = t.Mm.GetPte(a);
        Assert.True(pte.Write && pte.Dirty);
        Assert.NotEqual(t.Kernel.ZeroPage.Pfn, pte.Pfn);
        var folio = t.Kernel.Memory.PfnToFolio(pte.Pfn);
        Assert.Equal((1, 1), (folio.RefCount, folio.MapCount));
        Assert.Equal(1, t.Mm.Rss.AnonPages);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultCowCopy]);
        Assert.Equal(1, t.Kernel.Counters.Invalidations(MmuNotifierEvent.Clear));
        Assert.Equal(Errno.Ok, t.Cpu.Read(a + 8, out v));
        Assert.Equal(99, v);
        Assert.True(t.Kernel.ZeroPage.Bytes.IndexOfAnyExcept((byte)0) < 0);
    }

    [Fact]
    public void Write_fault_on_an_empty_pte_allocates_once_and_later_accesses_hit_the_tlb()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(Errno.Ok, t.Cpu.AtomicAdd(a, 1, out int _));
        }

        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultAnonymous]);
        Assert.Equal(1, t.Cpu.Faults);
        Assert.Equal(1, t.Cpu.TlbMisses);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int v));
        Assert.Equal(100, v);
    }

    [Fact]
    public void Access_without_a_vma_is_EFAULT_and_counted()
    {
        using var t = new MmFixture();
        Assert.Equal(Errno.EFAULT, t.Cpu.Read(0x1234_0000, out int _));
        Assert.Equal(Errno.EFAULT, t.Cpu.Write(0x1234_0000, 1));
        Assert.Equal(2, t.Kernel.Counters[MmEvent.FaultSegv]);
    }

    [Fact]
    public void Out_of_memory_during_a_fault_is_ENOMEM_and_frees_nothing_that_is_mapped()
    {
        using var t = new MmFixture(memoryBytes: 64 * 4096);
        var a = t.Map(100);
        var ok = 0UL;
        Errno err;
        while ((err = t.Cpu.Write(a + (ok * t.PageSize), (long)ok + 1)) == Errno.Ok)
        {
            ok++;
        }

        Assert.Equal(Errno.ENOMEM, err);
        Assert.Equal(63UL, ok);
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultOom]);
        for (ulong i = 0; i < ok; i++)
        {
            Assert.Equal(Errno.Ok, t.Cpu.Read(a + (i * t.PageSize), out long v));
            Assert.Equal((long)i + 1, v);
        }
    }

    [Fact]
    public void Shared_mapping_faults_map_the_shmem_page_writable()
    {
        using var t = new MmFixture();
        var a = t.Map(2, flags: MmapFlags.Shared);
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out int _));
        Assert.Equal(1, t.Kernel.Counters[MmEvent.FaultShared]);
        Assert.True(t.Mm.GetPte(a).Write);
        Assert.Equal(1, t.Mm.Rss.ShmemPages);
        var folio = t.Kernel.Memory.PfnToFolio(t.Mm.GetPte(a).Pfn);
        Assert.Equal((2, 1), (folio.RefCount, folio.MapCount));
    }

    [Fact]
    public void Concurrent_first_touch_of_one_page_maps_exactly_one_frame()
    {
        using var t = new MmFixture();
        var a = t.Map(1);
        var cpus = Enumerable.Range(0, 4).Select(_ => new CpuContext(t.Mm)).ToArray();
        Parallel.ForEach(cpus, c =>
        {
            for (var i = 0; i < 1000; i++)
            {
                Assert.Equal(Errno.Ok, c.AtomicAdd(a, 1L, out _));
            }
        });
        Assert.Equal(Errno.Ok, t.Cpu.Read(a, out long v));
        Assert.Equal(4000, v);
        Assert.Equal(1, t.Mm.Rss.AnonPages);
        Assert.Equal(1, t.Kernel.FramesInUse);
        foreach (var c in cpus)
        {
            c.Dispose();
        }
    }
}
