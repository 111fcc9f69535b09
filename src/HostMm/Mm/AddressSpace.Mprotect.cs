using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>mprotect(addr, len, prot)</c> (mm/mprotect.c): changes the protection of a fully mapped
    /// range, splitting VMAs at its ends. Fires a <see cref="MmuNotifierEvent.ProtectionVma"/>
    /// invalidation; PTEs lose write permission (present, device-private, device-exclusive and migration entries alike)
    /// or, if present, become <c>PROT_NONE</c> as the new protection requires, and the TLBs are
    /// flushed if a present one lost a permission. Write permission is
    /// never added to a PTE here: the next write faults and <c>DoWpPage</c> decides between reuse
    /// and copy. Takes the mmap lock for write.
    /// </summary>
    /// <returns>-EINVAL: unaligned address or unknown prot bits. -ENOMEM: part of the range is not mapped.</returns>
    public Errno Mprotect(ulong addr, ulong len, Prot prot)
    {
        if ((prot & ~Prot.ReadWrite) != 0 || (addr & PageMask) != 0)
        {
            return Errno.EINVAL;
        }

        if (len == 0)
        {
            return Errno.Ok;
        }

        if (!TryRange(addr, len, out var end))
        {
            return Errno.ENOMEM;
        }

        MmapLock.DownWrite();
        try
        {
            if (!IsolateVmas(addr, end))
            {
                return Errno.ENOMEM;
            }

            Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, addr, end, MmuNotifierEvent.ProtectionVma));
            var downgraded = false;
            foreach (var vma in VmasIn(addr, end))
            {
                vma.Prot = prot;
                downgraded |= ChangePteRange(vma, prot);
            }

            if (downgraded)
            {
                FlushTlbRange(addr, end);
            }

            Notifiers.InvalidateRangeEnd();
            return Errno.Ok;
        }
        finally
        {
            MmapLock.UpWrite();
        }
    }

    /// <summary>
    /// <c>change_pte_range()</c>: applies <paramref name="prot"/> to the entries of the VMA; true if a
    /// present one lost a permission. A huge PMD is changed as one entry (<c>change_huge_pmd()</c>):
    /// the VMA split before this already split any PMD the range cuts.
    /// </summary>
    private bool ChangePteRange(Vma vma, Prot prot)
    {
        var downgraded = false;
        for (var va = vma.Start; va < vma.End;)
        {
            var tableEnd = PageTable.PmdAddrEnd(va, vma.End);
            if (PageTable.Find(va) is { } table)
            {
                using (table.Ptl.Enter())
                {
                    if (table.GetPmd() is { Kind: not PteKind.None } pmd)
                    {
                        table.SetPmd(ChangeEntry(pmd, prot, ref downgraded));
                    }
                    else
                    {
                        for (var a = va; a < tableEnd; a += (ulong)PageSize)
                        {
                            var idx = PageTable.PteIndex(a);
                            var pte = table.Get(idx);
                            if (pte.Kind != PteKind.None)
                            {
                                table.Set(idx, ChangeEntry(pte, prot, ref downgraded));
                            }
                        }
                    }
                }
            }

            va = tableEnd;
        }

        return downgraded;
    }

    /// <summary>One entry under <paramref name="prot"/>: write permission dropped if it forbids writes, <c>PROT_NONE</c> set or cleared on a present entry; <paramref name="downgraded"/> records a present entry that lost a permission.</summary>
    private static Pte ChangeEntry(Pte pte, Prot prot, ref bool downgraded)
    {
        var updated = (prot & Prot.Write) == 0 ? pte.WithoutWrite() : pte;
        if (pte.Kind == PteKind.Present)
        {
            updated = updated.WithProtNone(prot == Prot.None);
            downgraded |= (pte.Write && !updated.Write) || (!pte.ProtNone && updated.ProtNone);
        }

        return updated;
    }
}
