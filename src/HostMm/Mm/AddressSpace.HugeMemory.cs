using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Migrate;

namespace Testbed.HostMm.Mm;

/// <summary>
/// Transparent huge pages of anonymous memory (mm/huge_memory.c): a write fault in a VMA that
/// allows THP maps a zeroed 2 MiB folio with one PMD entry; that entry becomes a migration or a
/// device-private entry when the folio migrates whole; and it is split into 512 PTEs wherever an
/// operation needs less than the whole span.
/// </summary>
/// <remarks>
/// <para>Where the model differs from the kernel, on purpose:</para>
/// <list type="bullet">
/// <item>A read fault maps the order-0 zero page per PTE, never the huge zero page, so a THP is
/// only ever born from a write fault (or a compound migration into an empty span).</item>
/// <item>Only private anonymous VMAs get THPs (no shmem THP), and no khugepaged collapses PTE
/// tables back into a THP.</item>
/// <item>A split PMD leaves the folio large and PTE-mapped, as the kernel does. A THP that loses
/// part of its mappings goes on the deferred split queue, which is scanned when an anonymous fault
/// finds no free page (the model's only memory pressure: there is no reclaim) or on demand
/// (<see cref="HostKernel.ShrinkDeferredSplit"/>). A PTE-mapped large folio is also split when a
/// migration collects it (<see cref="SplitFolio"/>), as <c>migrate_vma_collect_pmd</c> splits one.</item>
/// <item>A device-exclusive entry is never made at PMD level: <c>MakeDeviceExclusive</c> splits the
/// PMD first, as the kernel's <c>FOLL_SPLIT_PMD</c> does.</item>
/// </list>
/// </remarks>
public sealed partial class AddressSpace
{
    /// <summary>Bytes mapped by one PMD entry: 512 pages (2 MiB with 4 KiB pages).</summary>
    public ulong PmdSize => (ulong)PageSize << PhysicalMemory.MaxOrder;

    /// <summary>
    /// <c>madvise(addr, len, MADV_HUGEPAGE | MADV_NOHUGEPAGE)</c>: records <paramref name="advice"/> on
    /// the VMAs of the range, splitting them at its ends. THPs already mapped stay. Takes the mmap
    /// lock for write.
    /// </summary>
    /// <returns>-EINVAL: unaligned address or a range that leaves user space. -ENOMEM: part of the range is not mapped (nothing changes).</returns>
    public Errno MadviseHugePage(ulong addr, ulong len, HugePageAdvice advice)
    {
        if (!TryRange(addr, len, out var end) || !Enum.IsDefined(advice))
        {
            return Errno.EINVAL;
        }

        if (len == 0)
        {
            return Errno.Ok;
        }

        MmapLock.DownWrite();
        try
        {
            if (!IsolateVmas(addr, end))
            {
                return Errno.ENOMEM;
            }

            foreach (var vma in VmasIn(addr, end))
            {
                vma.HugePage = advice;
            }

            return Errno.Ok;
        }
        finally
        {
            MmapLock.UpWrite();
        }
    }

    /// <summary>
    /// <c>thp_vma_allowable_order()</c> for a fault at <paramref name="va"/>: the VMA is private
    /// anonymous memory, the system setting and the VMA's flag allow THP, and the aligned 2 MiB span
    /// around <paramref name="va"/> lies inside the VMA.
    /// </summary>
    internal bool ThpAllowed(Vma vma, ulong va)
    {
        var mode = Kernel.TransparentHugepage;
        var wanted = vma.HugePage == HugePageAdvice.HugePage ||
                     (mode == TransparentHugepage.Always && vma.HugePage == HugePageAdvice.Default);
        if (mode == TransparentHugepage.Never || !wanted || !vma.IsAnonymous)
        {
            return false;
        }

        var haddr = va & ~(PmdSize - 1);
        return haddr >= vma.Start && haddr + PmdSize <= vma.End;
    }

    /// <summary>
    /// <c>do_huge_pmd_anonymous_page()</c> for a write: allocates a zeroed order-9 folio outside the
    /// lock and maps it with one writable PMD entry if the span is still empty. Returns false, having
    /// mapped nothing, when no 2 MiB block is free (or <see cref="FaultPoint.ThpAlloc"/> says so);
    /// the caller falls back to a 4 KiB page.
    /// </summary>
    private bool DoHugePmdAnonymousPage(Vma vma, PteTable table, ulong va)
    {
        var folio = Kernel.FaultInjection.ShouldFail(FaultPoint.ThpAlloc) ? null : Memory.AllocFolio(PhysicalMemory.MaxOrder);
        if (folio is null)
        {
            Kernel.Counters.Count(MmEvent.ThpFaultFallback);
            return false;
        }

        var haddr = va & ~(PmdSize - 1);
        folio.Mapping = vma.AnonVma;
        folio.Index = vma.LinearPageIndex(haddr);
        folio.MarkDirty();
        table.Ptl.Acquire();
        if (table.GetPmd().Kind != PteKind.None || !table.IsEmpty())
        {
            table.Ptl.Release();
            folio.Put();
            Kernel.Counters.Count(MmEvent.FaultSpurious);
            return true;
        }

        folio.AddMap();
        Rss.Add(false, folio.NrPages);
        table.SetPmd(Pte.Present(folio.Pfn, vma.Writable, dirty: true));
        table.Ptl.Release();
        Kernel.Counters.Count(MmEvent.ThpFaultAlloc);
        return true;
    }

    /// <summary>
    /// <c>__handle_mm_fault()</c> at PMD level: a write to a read-only THP goes to
    /// <see cref="DoHugePmdWpPage"/>, a device-private PMD to <c>DoSwapPage</c> (the driver brings
    /// the THP back), a migration PMD waits; a PMD that already allows the access is a spurious
    /// fault.
    /// </summary>
    private Errno HugePmdFault(Vma vma, PteTable table, ulong va, Pte pmd, FaultFlags flags)
    {
        var write = (flags & FaultFlags.Write) != 0;
        switch (pmd.Kind)
        {
            case PteKind.Present when write && !pmd.Write:
                return DoHugePmdWpPage(vma, table, va, pmd, flags);
            case PteKind.DevicePrivate:
                return DoSwapPage(vma, table, PteTable.PmdSlot, va, pmd, flags);
            case PteKind.Migration:
                MigrationEntries.Wait(this, va);
                return Errno.Ok;
            default:
                Kernel.Counters.Count(MmEvent.FaultSpurious);
                return Errno.Ok;
        }
    }

    /// <summary>
    /// <c>do_huge_pmd_wp_page()</c>: a THP only this PMD references is made writable in place; one
    /// shared after fork has its PMD split and the fault falls back to the PTE level, where the
    /// written page alone is copied (the kernel's behaviour since 5.8: no 2 MiB copy per COW fault).
    /// </summary>
    private Errno DoHugePmdWpPage(Vma vma, PteTable table, ulong va, Pte orig, FaultFlags flags)
    {
        var folio = Memory.PfnToFolio(orig.Pfn);
        table.Ptl.Acquire();
        if (table.GetPmd() != orig)
        {
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultSpurious);
            return Errno.Ok;
        }

        if (folio.RefCount == 1 && folio.MapCount == 1)
        {
            table.SetPmd(orig.WithWriteDirty());
            folio.MarkDirty();
            table.Ptl.Release();
            Kernel.Counters.Count(MmEvent.FaultWpReuse);
            return Errno.Ok;
        }

        SplitHugePmd(table, va);
        table.Ptl.Release();
        return HandleMmFault(vma, va, flags);
    }

    /// <summary>
    /// <c>__split_huge_pmd_locked()</c>: the PMD entry of <paramref name="table"/>'s span becomes 512
    /// PTEs of the same kind, write permission and bits, each mapping its own page of the folio
    /// (present and device-private PTEs each hold a reference and a mapcount, as the PMD held one);
    /// a present PMD is flushed from the TLBs. The folio stays large. The caller holds the table's lock.
    /// </summary>
    internal void SplitHugePmd(PteTable table, ulong va)
    {
        var pmd = table.GetPmd();
        if (pmd.Kind == PteKind.None)
        {
            return;
        }

        for (var i = 0; i < PteTable.Entries; i++)
        {
            var pfn = pmd.Pfn + i;
            table.Set(i, pmd.Kind switch
            {
                PteKind.Present => Pte.Present(pfn, pmd.Write, pmd.Dirty, pmd.Young, pmd.SoftDirty).WithProtNone(pmd.ProtNone),
                PteKind.DevicePrivate => Pte.DevicePrivate(pfn, pmd.Write),
                _ => Pte.Migration(pfn, pmd.Write),
            });
        }

        if (pmd.Kind != PteKind.Migration)
        {
            Memory.PfnToFolio(pmd.Pfn).AddMappedRefs(PteTable.Entries - 1);
        }

        table.SetPmd(Pte.None);
        if (pmd.Kind == PteKind.Present)
        {
            var haddr = va & ~(PmdSize - 1);
            FlushTlbRange(haddr, haddr + PmdSize);
        }

        Kernel.Counters.Count(MmEvent.ThpSplitPmd);
    }

    /// <summary>
    /// <c>split_huge_pmd_address()</c>: splits the huge PMD around <paramref name="addr"/> if
    /// <paramref name="addr"/> falls inside its span (a VMA boundary about to cut it).
    /// </summary>
    private void SplitHugePmdAt(ulong addr)
    {
        if ((addr & (PmdSize - 1)) == 0 || PageTable.Find(addr) is not { } table || table.GetPmd().Kind == PteKind.None)
        {
            return;
        }

        using (table.Ptl.Enter())
        {
            SplitHugePmd(table, addr);
        }
    }

    /// <summary>
    /// <c>split_folio()</c> (<c>split_huge_page_to_list_to_order()</c>) of a PTE-mapped large folio
    /// the caller holds locked with a reference, with <paramref name="extraRefs"/> more references
    /// it knows of (a fault's): every mapping becomes a migration entry, the folio is split into
    /// order-0 folios if nobody else holds a reference, and every entry maps its own page's folio
    /// again. The head stays locked and referenced for the caller; the tails are unlocked and their
    /// splitting references dropped, so a page nothing maps any more is freed.
    /// </summary>
    /// <returns>-EBUSY (nothing split): someone else holds a reference.</returns>
    internal static Errno SplitFolio(HostKernel kernel, Folio folio, int extraRefs)
    {
        var memory = kernel.Memory;
        MigrationEntries.TryToMigrate(folio, splitPmd: true);
        if (folio.MapCount != 0 || folio.RefCount != 1 + extraRefs)
        {
            MigrationEntries.RemoveMigrationPtes(folio, folio);
            kernel.Counters.Count(MmEvent.ThpSplitPageFailed);
            return Errno.EBUSY;
        }

        var head = folio.Pfn;
        var nr = folio.NrPages;
        memory.SplitUnmapped(folio);
        for (var i = 0; i < nr; i++)
        {
            var page = memory.PfnToFolio(head + i);
            MigrationEntries.RemoveMigrationPtes(page, page);
            if (i > 0)
            {
                page.Unlock();
                page.Put();
            }
        }

        kernel.Counters.Count(MmEvent.ThpSplitPage);
        return Errno.Ok;
    }
}
