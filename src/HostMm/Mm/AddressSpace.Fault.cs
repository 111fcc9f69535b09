using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// The architecture's page-fault entry (<c>do_user_addr_fault()</c>): takes the mmap lock for
    /// read, finds the VMA, checks the access against its protection and calls
    /// <see cref="HandleMmFault"/>. The faulting access is then retried by the caller.
    /// </summary>
    /// <returns>-EFAULT (SIGSEGV): no VMA, or an access the VMA forbids. -ENOMEM: no free page.</returns>
    public Errno HandleUserFault(ulong addr, FaultFlags flags)
    {
        MmapLock.DownRead();
        try
        {
            var vma = FindVma(addr);
            if (vma is null || !vma.Permits((flags & FaultFlags.Write) != 0))
            {
                Kernel.Counters.Count(MmEvent.FaultSegv);
                return Errno.EFAULT;
            }

            return HandleMmFault(vma, addr, flags);
        }
        finally
        {
            MmapLock.UpRead();
        }
    }

    /// <summary>
    /// <c>handle_mm_fault()</c> (mm/memory.c) for an access <paramref name="vma"/> permits: a huge PMD
    /// entry is handled at its level (<c>HugePmdFault</c>); a write to an empty span of a VMA that
    /// allows THP maps a 2 MiB folio with one PMD entry (<c>do_huge_pmd_anonymous_page</c>); an empty
    /// private PTE gets the zero page on a read and a fresh zeroed page on a write
    /// (<c>do_anonymous_page</c>), an empty shared PTE gets the shmem object's page, and a write
    /// to a read-only present PTE goes to <c>DoWpPage</c>, a device-private entry to
    /// <c>DoSwapPage</c>, a migration entry waits for the migration, and a device-exclusive entry is
    /// given back to the CPU (<c>RemoveDeviceExclusiveEntry</c>). A PTE that already allows the access
    /// (another thread won) is a spurious fault and succeeds.
    /// Caller holds the mmap lock for read.
    /// </summary>
    /// <returns>-ENOMEM when no page could be allocated.</returns>
    public Errno HandleMmFault(Vma vma, ulong addr, FaultFlags flags)
    {
        var write = (flags & FaultFlags.Write) != 0;
        var va = addr & ~PageMask;
        var table = PageTable.FindOrAlloc(va);
        if (table.GetPmd() is { Kind: not PteKind.None } pmd)
        {
            return HugePmdFault(vma, table, va, pmd, flags);
        }

        var idx = PageTable.PteIndex(va);
        var pte = table.Get(idx);
        switch (pte.Kind)
        {
            case PteKind.None when write && ThpAllowed(vma, va) && table.IsEmpty() && DoHugePmdAnonymousPage(vma, table, va):
                return Errno.Ok;
            case PteKind.None:
                return vma.IsShared ? DoSharedFault(vma, table, idx, va)
                    : write ? DoAnonymousPage(vma, table, idx, va) : DoZeroPage(table, idx);
            case PteKind.Present when write && !pte.Write:
                return DoWpPage(vma, table, idx, va, pte);
            case PteKind.Present:
                Kernel.Counters.Count(MmEvent.FaultSpurious);
                return Errno.Ok;
            case PteKind.DevicePrivate:
                return DoSwapPage(vma, table, idx, va, pte, flags);
            case PteKind.Migration:
                MigrationEntries.Wait(this, va);
                return Errno.Ok;
            default:
                return DeviceExclusive.RemoveDeviceExclusiveEntry(this, vma, va, pte);
        }
    }

    /// <summary>A read fault on an empty private PTE maps the shared zero page read-only.</summary>
    private Errno DoZeroPage(PteTable table, int idx)
    {
        using (table.Ptl.Enter())
        {
            if (table.Get(idx).Kind == PteKind.None && table.GetPmd().Kind == PteKind.None)
            {
                table.Set(idx, Pte.Present(Kernel.ZeroPage.Pfn, write: false));
                Kernel.Counters.Count(MmEvent.FaultZeroPage);
            }
        }

        return Errno.Ok;
    }

    /// <summary><c>do_anonymous_page()</c> for a write: allocates a zeroed page outside the lock, maps it if the PTE is still empty.</summary>
    private Errno DoAnonymousPage(Vma vma, PteTable table, int idx, ulong va)
    {
        var folio = AllocPage(zero: true);
        if (folio is null)
        {
            Kernel.Counters.Count(MmEvent.FaultOom);
            return Errno.ENOMEM;
        }

        folio.Mapping = vma.AnonVma;
        folio.Index = vma.LinearPageIndex(va);
        folio.MarkDirty();
        return InstallIfNone(table, idx, folio, Pte.Present(folio.Pfn, vma.Writable, dirty: true), shmem: false, MmEvent.FaultAnonymous);
    }

    /// <summary>
    /// An order-0 page for a fault; when none is free, the deferred split shrinker runs once (as
    /// direct reclaim runs the shrinkers) and the allocation is tried again.
    /// </summary>
    private Folio? AllocPage(bool zero) =>
        Memory.AllocFolio(zero: zero) ?? (Kernel.ShrinkDeferredSplit() > 0 ? Memory.AllocFolio(zero: zero) : null);

    /// <summary><c>do_shared_fault()</c> on shmem: maps the object's page (writable if the VMA is).</summary>
    private Errno DoSharedFault(Vma vma, PteTable table, int idx, ulong va)
    {
        var folio = vma.Shmem!.GetFolio(vma.PgOff + (long)((va - vma.Start) >> PageShift));
        if (folio is null)
        {
            Kernel.Counters.Count(MmEvent.FaultOom);
            return Errno.ENOMEM;
        }

        return InstallIfNone(table, idx, folio, Pte.Present(folio.Pfn, vma.Writable), shmem: true, MmEvent.FaultShared);
    }

    /// <summary>
    /// Maps <paramref name="folio"/> (whose reference becomes the mapping's) if the PTE is still empty
    /// under its lock and no huge PMD took the span; otherwise another thread won the fault and the
    /// folio is dropped.
    /// </summary>
    private Errno InstallIfNone(PteTable table, int idx, Folio folio, Pte pte, bool shmem, MmEvent counted)
    {
        table.Ptl.Acquire();
        if (table.Get(idx).Kind != PteKind.None || table.GetPmd().Kind != PteKind.None)
        {
            table.Ptl.Release();
            folio.Put();
            Kernel.Counters.Count(MmEvent.FaultSpurious);
            return Errno.Ok;
        }

        folio.AddMap();
        Rss.Add(shmem, 1);
        table.Set(idx, pte);
        table.Ptl.Release();
        Kernel.Counters.Count(counted);
        return Errno.Ok;
    }

    /// <summary>
    /// <c>do_wp_page()</c>: a write to a read-only present PTE of a writable VMA. A shared page, or a
    /// private page that only this PTE references, is made writable in place (<c>wp_page_reuse</c>);
    /// the zero page or a page shared after fork is copied (<c>wp_page_copy</c>).
    /// </summary>
    private Errno DoWpPage(Vma vma, PteTable table, int idx, ulong va, Pte orig)
    {
        var folio = Memory.PfnToFolio(orig.Pfn);
        table.Ptl.Acquire();
        if (table.Get(idx) != orig)
        {
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultSpurious);
            return Errno.Ok;
        }

        if (vma.IsShared || (!folio.IsZeroPage && folio.RefCount == 1 && folio.MapCount == 1))
        {
            table.Set(idx, orig.WithWriteDirty());
            folio.MarkDirty();
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultWpReuse);
            return Errno.Ok;
        }

        if (!folio.IsZeroPage)
        {
            folio.Get();
        }

        table.Ptl.Release();
        var err = WpPageCopy(vma, table, idx, va, orig, folio);
        if (!folio.IsZeroPage)
        {
            folio.Put();
        }

        return err;
    }

    /// <summary>
    /// <c>wp_page_copy()</c>: copies the faulting page of <paramref name="old"/> (a reference held by
    /// the caller; for a PTE-mapped large folio, the page the PTE maps) into a new page and, under a <see cref="MmuNotifierEvent.Clear"/> invalidation, replaces the PTE: clear,
    /// flush, then install, so no CPU reads the old page after another wrote the new one.
    /// </summary>
    private unsafe Errno WpPageCopy(Vma vma, PteTable table, int idx, ulong va, Pte orig, Folio old)
    {
        var copy = AllocPage(zero: old.IsZeroPage);
        if (copy is null)
        {
            Kernel.Counters.Count(MmEvent.FaultOom);
            return Errno.ENOMEM;
        }

        if (!old.IsZeroPage)
        {
            Buffer.MemoryCopy(Memory.FrameAddress(orig.Pfn), copy.Address, PageSize, PageSize);
        }

        Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, va, va + (ulong)PageSize, MmuNotifierEvent.Clear));
        var replaced = false;
        using (table.Ptl.Enter())
        {
            if (table.Get(idx) == orig)
            {
                table.Set(idx, Pte.None);
                FlushTlbRange(va, va + (ulong)PageSize);
                copy.Mapping = vma.AnonVma;
                copy.Index = vma.LinearPageIndex(va);
                copy.AddMap();
                copy.MarkDirty();
                table.Set(idx, Pte.Present(copy.Pfn, write: true, dirty: true));
                if (old.IsZeroPage)
                {
                    Rss.Add(false, 1);
                }
                else
                {
                    old.RemoveMap();
                    old.Put();
                }

                replaced = true;
            }
        }

        Notifiers.InvalidateRangeEnd();
        if (!replaced)
        {
            copy.Put();
        }

        Kernel.Counters.Count(replaced ? MmEvent.FaultCowCopy : MmEvent.FaultSpurious);
        return Errno.Ok;
    }
}
