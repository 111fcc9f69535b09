using Testbed.HostMm.Cpu;
using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Tests.Hmm;

/// <summary>
/// Migration to and from device-private memory through the test mirror driver, named after
/// tools/testing/selftests/mm/hmm-tests.c where a test corresponds, plus one test per reason
/// migrate_device.c gives up on a page.
/// </summary>
public sealed class MigrateTests : IDisposable
{
    private const int DevicePages = 64;
    private readonly MmFixture _t = new();
    private readonly Dmirror _dev;

    public MigrateTests() => _dev = new Dmirror(_t.Kernel, _t.Mm, DevicePages);

    private ulong Page => _t.PageSize;

    public void Dispose()
    {
        _dev.Remove();
        _t.Dispose();
        Assert.Equal(DevicePages, _dev.FreePages);
    }

    private ulong MapWithPattern(ulong pages, MmapFlags flags = MmapFlags.Private)
    {
        var a = _t.Map(pages, flags: flags);
        for (ulong i = 0; i < pages * Page / 4; i++)
        {
            Assert.Equal(Errno.Ok, _t.Cpu.Write(a + (i * 4), (int)i));
        }

        return a;
    }

    private void AssertPattern(ulong a, ulong pages)
    {
        for (ulong i = 0; i < pages * Page / 4; i++)
        {
            Assert.Equal(Errno.Ok, _t.Cpu.Read(a + (i * 4), out int v));
            Assert.Equal((int)i, v);
        }
    }

    private void AssertDevicePattern(ulong a, ulong pages)
    {
        var bytes = new byte[pages * Page];
        Assert.Equal(Errno.Ok, _dev.DeviceRead(a, bytes));
        for (var i = 0; i < bytes.Length / 4; i++)
        {
            Assert.Equal(i, BitConverter.ToInt32(bytes, i * 4));
        }
    }

    [Fact]
    public void migrate()
    {
        var a = MapWithPattern(8);
        var systemFrames = _t.Kernel.FramesInUse;
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 8));
        for (ulong i = 0; i < 8; i++)
        {
            var pte = _t.Mm.GetPte(a + (i * Page));
            Assert.Equal(PteKind.DevicePrivate, pte.Kind);
            Assert.True(pte.Write);
            var folio = _t.Kernel.Memory.PfnToFolio(pte.Pfn);
            Assert.Same(_dev.Pagemap, folio.Pgmap);
            Assert.Equal((1, 1, false), (folio.RefCount, folio.MapCount, folio.IsLocked));
        }

        AssertDevicePattern(a, 8);
        Assert.Equal(8, _t.Mm.Rss.AnonPages);
        Assert.Equal(systemFrames - 8, _t.Kernel.FramesInUse);
        Assert.Equal(8, _t.Kernel.Counters[MmEvent.MigratedToDevice]);
        Assert.Equal(DevicePages - 8, _dev.FreePages);
    }

    [Fact]
    public void migrate_fault()
    {
        var a = MapWithPattern(4);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 4));
        AssertPattern(a, 4);
        for (ulong i = 0; i < 4; i++)
        {
            Assert.Equal(PteKind.Present, _t.Mm.GetPte(a + (i * Page)).Kind);
            Assert.Null(_dev.Lookup(a + (i * Page)));
        }

        Assert.Equal(4, _t.Kernel.Counters[MmEvent.FaultDevicePrivate]);
        Assert.Equal(4, _t.Kernel.Counters[MmEvent.MigratedToRam]);
        Assert.Equal(DevicePages, _dev.FreePages);
        Assert.Equal(4, _t.Mm.Rss.AnonPages);
    }

    [Fact]
    public void migrate_release()
    {
        var a = MapWithPattern(6);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 6));
        var invalidations = _dev.Invalidations;
        _dev.EvictAll();
        for (ulong i = 0; i < 6; i++)
        {
            Assert.Equal(PteKind.Present, _t.Mm.GetPte(a + (i * Page)).Kind);
            Assert.Null(_dev.Lookup(a + (i * Page)));
        }

        Assert.Equal(invalidations + 6, _dev.Invalidations);
        Assert.Equal(6, _t.Kernel.Counters[MmEvent.MigratedToRam]);
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.FaultDevicePrivate]);
        Assert.Equal(DevicePages, _dev.FreePages);
        AssertPattern(a, 6);
    }

    [Fact]
    public void migrate_shared()
    {
        var a = MapWithPattern(2, MmapFlags.Shared);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 2));
        Assert.Equal(Errno.ENOENT, _dev.DeviceRead(a, new byte[8]));
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(a).Kind);
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.MigratedToDevice]);
        Assert.Equal(2, _t.Kernel.Counters[MmEvent.MigrateFailRefs]);
        AssertPattern(a, 2);
    }

    [Fact]
    public void migrate_multiple()
    {
        var a = MapWithPattern(3);
        for (var round = 0; round < 10; round++)
        {
            Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 3));
            AssertDevicePattern(a, 3);
            AssertPattern(a, 3);
        }

        Assert.Equal(30, _t.Kernel.Counters[MmEvent.MigratedToDevice]);
        Assert.Equal(30, _t.Kernel.Counters[MmEvent.MigratedToRam]);
    }

    [Fact]
    public void migrate_of_untouched_anonymous_memory_populates_device_pages()
    {
        var a = _t.Map(2);
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a + Page, out int _));
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 2));
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(a).Kind);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(a + Page).Kind);
        var bytes = new byte[2 * Page];
        Array.Fill(bytes, (byte)1);
        Assert.Equal(Errno.Ok, _dev.DeviceRead(a, bytes));
        Assert.True(bytes.AsSpan().IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(2, _t.Mm.Rss.AnonPages);
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, 5));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int v));
        Assert.Equal(5, v);
    }

    [Fact]
    public void a_page_two_address_spaces_share_moves_with_both_mappings_counted()
    {
        var a = MapWithPattern(1);
        var child = _t.Mm.ForkOk();
        var system = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn);
        Assert.Equal((2, 2), (system.RefCount, system.MapCount));

        // Collect unmaps the parent's PTE with the child's still there (the count goes 2 -> 1
        // atomically), then the reverse map unmaps the child's; finalize maps the destination in both,
        // the first mapping's count with a plain store and the second's atomically.
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        var pte = _t.Mm.GetPte(a);
        Assert.Equal(PteKind.DevicePrivate, pte.Kind);
        Assert.Equal(pte, child.GetPte(a));
        var device = _t.Kernel.Memory.PfnToFolio(pte.Pfn);
        Assert.Equal((2, 2, false), (device.RefCount, device.MapCount, device.IsLocked));
        Assert.True(system.IsFree);

        child.Dispose();
        Assert.Equal((1, 1), (device.RefCount, device.MapCount));
        AssertDevicePattern(a, 1);
        AssertPattern(a, 1);
        Assert.Equal((0, 0), (device.RefCount, device.MapCount));
    }

    [Fact]
    public void hmm_cow_in_device()
    {
        var a = MapWithPattern(1);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        using var child = _t.Mm.ForkOk();
        using var childCpu = new CpuContext(child);
        var parentPte = _t.Mm.GetPte(a);
        Assert.Equal(PteKind.DevicePrivate, parentPte.Kind);
        Assert.False(parentPte.Write);
        Assert.Equal(parentPte, child.GetPte(a));
        var device = _t.Kernel.Memory.PfnToFolio(parentPte.Pfn);
        Assert.Equal((2, 2), (device.RefCount, device.MapCount));
        Assert.Equal(1, child.Rss.AnonPages);

        // The parent's write faults the page back for both mappings (through the reverse map), then breaks COW.
        Assert.Equal(Errno.Ok, _t.Cpu.Write(a, -1));
        Assert.Equal(Errno.Ok, childCpu.Read(a, out int childSees));
        Assert.Equal(Errno.Ok, _t.Cpu.Read(a, out int parentSees));
        Assert.Equal((0, -1), (childSees, parentSees));
        Assert.Equal(PteKind.Present, child.GetPte(a).Kind);
        Assert.NotEqual(_t.Mm.GetPte(a).Pfn, child.GetPte(a).Pfn);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.MigratedToRam]);
        Assert.Equal(DevicePages, _dev.FreePages);
    }

    [Fact]
    public void mprotect_downgrades_a_device_private_entry_and_notifies()
    {
        var a = MapWithPattern(1);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        Assert.NotNull(_dev.Lookup(a));
        var flushes = _t.Kernel.Counters[MmEvent.TlbFlush];
        Assert.Equal(Errno.Ok, _t.Mm.Mprotect(a, Page, Prot.Read));
        var pte = _t.Mm.GetPte(a);
        Assert.Equal((PteKind.DevicePrivate, false), (pte.Kind, pte.Write));
        Assert.Null(_dev.Lookup(a));
        Assert.Equal(flushes, _t.Kernel.Counters[MmEvent.TlbFlush]);
        Assert.Equal(Errno.EFAULT, _t.Cpu.Write(a, 1));
        AssertPattern(a, 1);
    }

    [Fact]
    public void munmap_of_device_pages_returns_them_to_the_driver()
    {
        var a = MapWithPattern(5);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 5));
        Assert.Equal(DevicePages - 5, _dev.FreePages);
        Assert.Equal(Errno.Ok, _t.Mm.Munmap(a, 5 * Page));
        Assert.Equal(DevicePages, _dev.FreePages);
        Assert.Equal(0, _t.Mm.Rss.AnonPages);
    }

    [Fact]
    public void collect_gives_up_on_a_page_it_cannot_trylock()
    {
        var a = MapWithPattern(2);
        var folio = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn);
        folio.Lock();
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 2));
        folio.Unlock();
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(a).Kind);
        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(a + Page).Kind);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.MigrateFailLocked]);
        Assert.Equal((1, 1), (folio.RefCount, folio.MapCount));
        AssertPattern(a, 2);
    }

    [Fact]
    public void extra_reference_fails_the_check_and_restores_the_pte()
    {
        var a = MapWithPattern(1);
        var before = _t.Mm.GetPte(a);
        var folio = _t.Kernel.Memory.PfnToFolio(before.Pfn);
        folio.Get();
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        Assert.Equal(before.Pfn, _t.Mm.GetPte(a).Pfn);
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(a).Kind);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.MigrateFailRefs]);
        Assert.False(folio.IsLocked);
        Assert.Equal((2, 1), (folio.RefCount, folio.MapCount));
        folio.Put();
        AssertPattern(a, 1);
    }

    [Fact]
    public void a_cpu_fault_waiting_on_the_migration_entry_holds_no_reference_so_the_migration_completes()
    {
        var a = MapWithPattern(1);
        var src = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn);
        var args = new MigrateVma { Vma = _t.Mm.FindVma(a), Start = a, End = a + Page, Src = new ulong[1], Dst = new ulong[1], Flags = MigrateVmaFlags.SelectSystem };
        _t.Mm.MmapLock.DownRead();
        Assert.Equal(Errno.Ok, MigrateDevice.MigrateVmaSetup(args));
        Assert.Equal(PteKind.Migration, _t.Mm.GetPte(a).Kind);
        var refs = src.RefCount;
        var reader = new TestThread<int>(() =>
        {
            using var cpu = new CpuContext(_t.Mm);
            Assert.Equal(Errno.Ok, cpu.Read(a + 8, out int v));
            return v;
        });
        var queued = SpinWait.SpinUntil(() => src.LockWaiters == 1, TimeSpan.FromSeconds(30));
        var refsWhileWaiting = src.RefCount;

        var dst = _t.Kernel.Memory.AllocFolio(zero: false)!;
        dst.Lock();
        unsafe
        {
            new ReadOnlySpan<byte>(_t.Kernel.Memory.FrameAddress(src.Pfn), (int)Page).CopyTo(new Span<byte>(_t.Kernel.Memory.FrameAddress(dst.Pfn), (int)Page));
        }

        args.Dst[0] = MigratePfn.Make(dst.Pfn) | MigratePfn.Write;
        MigrateDevice.MigrateVmaPages(args);
        MigrateDevice.MigrateVmaFinalize(args);
        _t.Mm.MmapLock.UpRead();

        Assert.True(queued, "the reader never waited on the migration entry");
        Assert.Equal(refs, refsWhileWaiting);
        Assert.Equal(2, reader.Result);
        Assert.Equal(dst.Pfn, _t.Mm.GetPte(a).Pfn);
        Assert.Equal(0, _t.Kernel.Counters[MmEvent.MigrateFailRefs]);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.FaultMigrationWait]);
        AssertPattern(a, 1);
    }

    [Fact]
    public void pinned_page_is_not_collected()
    {
        var a = MapWithPattern(1);
        var folio = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn);
        folio.Pin();
        Assert.True(folio.IsMaybeDmaPinned);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(a).Kind);
        Assert.Equal(1, _t.Kernel.Counters[MmEvent.MigrateFailPinned]);
        folio.Unpin();
        Assert.Equal(1, folio.RefCount);
    }

    [Fact]
    public void hole_in_a_shared_vma_is_not_offered_and_an_anonymous_hole_is()
    {
        var shared = _t.Map(1, flags: MmapFlags.Shared);
        var priv = _t.Map(1);
        _t.Mm.MmapLock.DownRead();
        try
        {
            foreach (var (addr, expected) in new[] { (shared, 0UL), (priv, MigratePfn.Migrate) })
            {
                var args = new MigrateVma { Vma = _t.Mm.FindVma(addr), Start = addr, End = addr + Page, Src = new ulong[1], Dst = new ulong[1], Flags = MigrateVmaFlags.SelectSystem };
                Assert.Equal(Errno.Ok, MigrateDevice.MigrateVmaSetup(args));
                Assert.Equal(expected, args.Src[0]);
                Assert.Equal(expected == 0 ? 0 : 1, args.Cpages);
                MigrateDevice.MigrateVmaPages(args);
                MigrateDevice.MigrateVmaFinalize(args);
            }
        }
        finally
        {
            _t.Mm.MmapLock.UpRead();
        }
    }

    [Fact]
    public void no_destination_leaves_the_page_where_it_was()
    {
        var filler = MapWithPattern(DevicePages);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(filler, DevicePages));
        Assert.Equal(0, _dev.FreePages);
        var a = MapWithPattern(1);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        Assert.Equal(PteKind.Present, _t.Mm.GetPte(a).Kind);
        Assert.False(_t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn).IsLocked);
        AssertPattern(a, 1);
    }

    [Fact]
    public void the_migration_holds_the_ptes_reference_alone_and_gives_it_back_to_the_restored_mapping()
    {
        var a = MapWithPattern(2);
        var folios = new[] { a, a + Page }.Select(va => _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(va).Pfn)).ToArray();
        var args = new MigrateVma { Start = a, End = a + (2 * Page), Src = new ulong[2], Dst = new ulong[2], PgmapOwner = _dev.Owner, Flags = MigrateVmaFlags.SelectSystem };
        _t.Mm.MmapLock.DownRead();
        try
        {
            args.Vma = _t.Mm.FindVma(a);
            Assert.Equal(Errno.Ok, MigrateDevice.MigrateVmaSetup(args));
            Assert.Equal(2, args.Cpages);

            // Collect took no reference of its own: the PTE's became the migration's.
            Assert.All(folios, f => Assert.Equal((1, 0, true), (f.RefCount, f.MapCount, f.IsLocked)));
            Assert.Equal(PteKind.Migration, _t.Mm.GetPte(a).Kind);

            // No destination: finalize gives the migration's reference back to the restored PTE.
            MigrateDevice.MigrateVmaPages(args);
            MigrateDevice.MigrateVmaFinalize(args);
        }
        finally
        {
            _t.Mm.MmapLock.UpRead();
        }

        Assert.All(folios, f => Assert.Equal((1, 1, false), (f.RefCount, f.MapCount, f.IsLocked)));
        Assert.Equal(folios.Select(f => f.Pfn), new[] { a, a + Page }.Select(va => _t.Mm.GetPte(va).Pfn));
        AssertPattern(a, 2);
    }

    [Fact]
    public void setup_rejects_bad_arguments()
    {
        var a = MapWithPattern(2);
        Assert.Equal(Errno.Ok, _dev.MigrateToDevice(a, 1));
        var device = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a).Pfn);
        var system = _t.Kernel.Memory.PfnToFolio(_t.Mm.GetPte(a + Page).Pfn);
        _t.Mm.MmapLock.DownRead();
        try
        {
            var vma = _t.Mm.FindVma(a);
            MigrateVma Args(ulong start, ulong end, Vma? v = null, Folio? fault = null, int n = 2) =>
                new() { Vma = v, Start = start, End = end, Src = new ulong[n], Dst = new ulong[n], FaultPage = fault, Flags = MigrateVmaFlags.SelectDevicePrivate, PgmapOwner = _dev.Owner };
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a + Page)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a, vma)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a + (3 * Page), vma, n: 3)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a + (2 * Page), vma, n: 1)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a + Page, vma, system)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateVmaSetup(Args(a, a + Page, vma, device)));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateDeviceRange(_t.Kernel, new ulong[4], 0, 4));
            Assert.Equal(Errno.EINVAL, MigrateDevice.MigrateDeviceRange(_t.Kernel, new ulong[4], _dev.Pagemap.PfnBase + DevicePages - 2, 4));
        }
        finally
        {
            _t.Mm.MmapLock.UpRead();
        }

        Assert.Equal(PteKind.DevicePrivate, _t.Mm.GetPte(a).Kind);
        Assert.Equal(1, _t.Kernel.Counters.Invalidations(MmuNotifierEvent.Migrate));
    }
}
