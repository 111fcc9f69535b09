using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Cpu;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// A PTE-mapped large folio (order 9), mapped through the page table as a THP whose PMD was split
/// would be: each PTE maps its own page of the folio and holds one reference and one mapcount.
/// </summary>
public sealed class LargeFolioTests : IDisposable
{
    private readonly MmFixture _t = new(memoryBytes: 32L << 20);
    private readonly Dmirror _dev;
    private readonly ulong _va;
    private readonly Folio _thp;

    public LargeFolioTests()
    {
        _dev = new Dmirror(_t.Kernel, _t.Mm, 4);
        var pages = 1UL << PhysicalMemory.MaxOrder;
        Assert.Equal(Errno.Ok, _t.Mm.Mmap(0x4000_0000, pages * _t.PageSize, Prot.ReadWrite, MmapFlags.Private | MmapFlags.FixedNoReplace, out _va));
        _thp = _t.Kernel.Memory.AllocFolio(PhysicalMemory.MaxOrder)!;
        _t.Mm.MmapLock.DownRead();
        var vma = _t.Mm.FindVma(_va)!;
        _thp.Mapping = vma.AnonVma;
        _thp.Index = vma.LinearPageIndex(_va);
        for (ulong i = 0; i < pages; i++)
        {
            var va = _va + (i * _t.PageSize);
            var table = _t.Mm.PageTable.FindOrAlloc(va);
            using (table.Ptl.Enter())
            {
                table.Set(_t.Mm.PageTable.PteIndex(va), Pte.Present(_thp.Pfn + (long)i, write: true, dirty: true));
                _thp.AddMap();
                _t.Mm.Rss.Add(false, 1);
            }

            if (i > 0)
            {
                _thp.Get();
            }
        }

        _t.Mm.MmapLock.UpRead();
    }

    public void Dispose()
    {
        _dev.Remove();
        _t.Dispose();
    }

    [Fact]
    public void Cpu_accesses_reach_each_page_of_the_folio()
    {
        Assert.Equal(Errno.Ok, _t.Cpu.Write(_va + (300 * _t.PageSize) + 8, 42L));
        Assert.Equal(42L, BitConverter.ToInt64(_thp.Bytes.Slice((300 * (int)_t.PageSize) + 8, 8)));
    }

    [Fact]
    public void Migration_splits_a_pte_mapped_large_folio_and_moves_only_the_pages_asked_for()
    {
        Assert.Equal(Errno.Ok, _t.Cpu.Write(_va + (300 * _t.PageSize) + 8, 42L));
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(_va + (5 * _t.PageSize), 2));

        Assert.Equal(1, _t.Kernel.Counters[MmEvent.ThpSplitPage]);
        Assert.Equal(0, _thp.Order);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(_va + (5 * _t.PageSize)).Kind);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(_va + (6 * _t.PageSize)).Kind);
        var tail = _t.Kernel.Memory.PfnToFolio(_thp.Pfn + 300);
        Assert.NotSame(_thp, tail);
        Assert.Equal((0, 1, 1, false), (tail.Order, tail.RefCount, tail.MapCount, tail.IsLocked));
        Assert.Equal(_thp.Pfn + 300, _t.Mm.GetPte(_va + (300 * _t.PageSize)).Pfn);
        Assert.Equal((1, 1, false), (_thp.RefCount, _thp.MapCount, _thp.IsLocked));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(_va + (300 * _t.PageSize) + 8, out long back));
        Assert.Equal(42L, back);
    }

    [Fact]
    public void Exclusive_and_cow_work_on_the_one_pte_of_a_tail_page()
    {
        var va = _va + (7 * _t.PageSize);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(va, 7L));
        _t.Mm.MmapLock.DownRead();
        Assert.Equal(Errno.Ok, DeviceExclusive.MakeDeviceExclusive(_t.Mm, va, _dev.Owner, out var folio, out var pfn));
        Assert.Equal(_thp.Pfn + 7, pfn);
        _t.Mm.MmapLock.UpRead();
        Assert.Same(_thp, folio);
        folio!.Unlock();
        folio.Put();
        Assert.Equal((PteKind.DeviceExclusive, _thp.Pfn + 7), (_t.Mm.GetPte(va).Kind, _t.Mm.GetPte(va).Pfn));
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(va + _t.PageSize).Kind);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(va, out long back));
        Assert.Equal(7L, back);
        Assert.Equal(_thp.Pfn + 7, _t.Mm.GetPte(va).Pfn);

        using var child = _t.Mm.ForkOk();
        Assert.Equal(Errno.Ok, _t.Cpu.Write(va, 8L));
        Assert.NotEqual(_thp.Pfn + 7, _t.Mm.GetPte(va).Pfn);
        using var childCpu = new CpuContext(child);
        Assert.Equal(Errno.Ok, childCpu.Read(va, out long childSees));
        Assert.Equal(7L, childSees);
    }
}
