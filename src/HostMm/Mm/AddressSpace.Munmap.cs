using Testbed.HostMm.Memory;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>munmap(addr, len)</c> (mm/mmap.c, <c>do_vmi_munmap</c>): removes the mappings in the range,
    /// splitting VMAs at its ends. Fires an <see cref="MmuNotifierEvent.Unmap"/> invalidation, clears
    /// the PTEs, flushes the TLBs and only then releases the pages. A range without mappings is not
    /// an error. Takes the mmap lock for write.
    /// </summary>
    /// <returns>-EINVAL: unaligned address, zero length, or a range that leaves user space.</returns>
    public Errno Munmap(ulong addr, ulong len)
    {
        if (len == 0 || !TryRange(addr, len, out var end))
        {
            return Errno.EINVAL;
        }

        MmapLock.DownWrite();
        try
        {
            UnmapRangeLocked(addr, end);
            return Errno.Ok;
        }
        finally
        {
            MmapLock.UpWrite();
        }
    }

    /// <summary>The body of munmap. Caller holds the mmap lock for write.</summary>
    private void UnmapRangeLocked(ulong start, ulong end)
    {
        SplitVmaAt(start);
        SplitVmaAt(end);
        var vmas = VmasIn(start, end);
        if (vmas.Count == 0)
        {
            return;
        }

        var range = new MmuNotifierRange(this, vmas[0].Start, vmas[^1].End, MmuNotifierEvent.Unmap);
        Notifiers.InvalidateRangeStart(range);
        var tlb = new MmuGather(this);
        foreach (var vma in vmas)
        {
            ZapPteRange(vma, vma.Start, vma.End, tlb);
        }

        tlb.Finish();
        Notifiers.InvalidateRangeEnd();
        foreach (var vma in vmas)
        {
            _vmas.Remove(vma);
            if (vma.Shmem is { } shmem)
            {
                shmem.Unlink(vma);
            }
            else
            {
                vma.AnonVma!.Unlink(vma);
            }
        }
    }

    /// <summary>
    /// <c>zap_pte_range()</c>: clears every PTE of <paramref name="vma"/> in <c>[start, end)</c>
    /// under its page-table lock, moves dirty bits to the folios, drops the mappings and hands the
    /// references to <paramref name="tlb"/>, which releases them after the flush. A huge PMD the
    /// range covers whole is cleared as one entry (<c>zap_huge_pmd()</c>); one it covers in part is
    /// split first and only its PTEs in the range go (<c>zap_pmd_range()</c>).
    /// </summary>
    internal void ZapPteRange(Vma vma, ulong start, ulong end, MmuGather tlb)
    {
        for (var va = start; va < end;)
        {
            var tableEnd = PageTable.PmdAddrEnd(va, end);
            var table = PageTable.Find(va);
            if (table is not null)
            {
                using (table.Ptl.Enter())
                {
                    if (table.GetPmd() is { Kind: not PteKind.None } pmd)
                    {
                        if (tableEnd - va == PmdSize)
                        {
                            table.SetPmd(Pte.None);
                            ZapPte(vma, va, pmd, tlb, PteTable.Entries);
                            va = tableEnd;
                            continue;
                        }

                        SplitHugePmd(table, va);
                    }

                    for (var a = va; a < tableEnd; a += (ulong)PageSize)
                    {
                        var idx = PageTable.PteIndex(a);
                        var pte = table.Get(idx);
                        if (pte.Kind == PteKind.None)
                        {
                            continue;
                        }

                        table.Set(idx, Pte.None);
                        ZapPte(vma, a, pte, tlb);
                    }
                }
            }

            va = tableEnd;
        }
    }

    /// <summary>A large folio that lost a mapping and keeps others goes on the deferred split queue (<c>deferred_split_folio()</c>).</summary>
    private void DeferSplitIfPartial(Folio folio)
    {
        if (folio.Order > 0 && folio.MapCount > 0)
        {
            Kernel.DeferredSplit.Add(folio);
        }
    }

    /// <summary>
    /// Drops what a cleared entry mapping <paramref name="pages"/> pages (a PTE, or a huge PMD) held: a
    /// present page's mapping (its reference is released after the flush; the zero page holds none),
    /// a device-private or device-exclusive page's mapping, or nothing but the RSS count for a
    /// migration entry (migration holds its own reference).
    /// </summary>
    private void ZapPte(Vma vma, ulong va, Pte pte, MmuGather tlb, int pages = 1)
    {
        switch (pte.Kind)
        {
            case PteKind.Present:
                var folio = Memory.PfnToFolio(pte.Pfn);
                if (folio.IsZeroPage)
                {
                    tlb.RemovedPresent(va, null);
                    return;
                }

                if (pte.Dirty)
                {
                    folio.MarkDirty();
                }

                folio.RemoveMap();
                DeferSplitIfPartial(folio);
                Rss.Add(vma.IsShared, -pages);
                tlb.RemovedPresent(va, folio, pages);
                return;
            case PteKind.DevicePrivate or PteKind.DeviceExclusive:
                var mapped = Memory.PfnToFolio(pte.Pfn);
                mapped.RemoveMap();
                DeferSplitIfPartial(mapped);
                Rss.Add(false, -pages);
                tlb.Removed(mapped);
                return;
            default:
                Rss.Add(false, -pages);
                return;
        }
    }
}
