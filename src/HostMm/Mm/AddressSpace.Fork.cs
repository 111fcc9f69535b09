using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>fork()</c>'s <c>dup_mmap()</c> (kernel/fork.c, mm/memory.c <c>copy_page_range</c>): a new
    /// address space with a copy of every VMA. Private mappings become copy-on-write: each present
    /// page gains a reference and a mapping in the child, and is write-protected in both (with a
    /// <see cref="MmuNotifierEvent.ProtectionPage"/> invalidation on the parent and one TLB flush at
    /// the end). Shared mappings share their shmem object and copy no PTEs: the child refaults them.
    /// Takes the parent's mmap lock for write and the child's nested inside it.
    /// </summary>
    public AddressSpace Fork()
    {
        var child = Kernel.CreateAddressSpace();
        MmapLock.DownWrite();
        child.MmapLock.DownWrite(subclass: 1);
        try
        {
            if (IsDead)
            {
                throw new InvalidOperationException("Fork: the address space has been torn down.");
            }

            var writeProtected = false;
            foreach (var vma in _vmas)
            {
                var copy = new Vma(child, vma.Start, vma.End, vma.Prot, vma.Shmem, vma.AnonVma, vma.PgOff);
                vma.Rmap.Link(copy);
                child._vmas.Add(copy);
                if (vma.IsShared)
                {
                    continue;
                }

                Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, vma.Start, vma.End, MmuNotifierEvent.ProtectionPage));
                writeProtected |= CopyPteRange(child, vma);
                Notifiers.InvalidateRangeEnd();
            }

            if (writeProtected)
            {
                FlushTlbRange(0, TaskSize);
            }

            return child;
        }
        finally
        {
            child.MmapLock.UpWrite();
            MmapLock.UpWrite();
        }
    }

    /// <summary>
    /// <c>copy_pte_range()</c> for a private VMA: takes the child's PTE lock, then the parent's nested,
    /// and shares every page copy-on-write. A present or device-private page gains a reference and
    /// a mapping; a writable entry (present, device-private or migration) becomes read-only in both.
    /// Returns true if a present parent PTE lost write permission (and so needs a TLB flush).
    /// </summary>
    private bool CopyPteRange(AddressSpace child, Vma vma)
    {
        var writeProtected = false;
        var tableSpan = (ulong)PteTable.Entries << PageShift;
        for (var va = vma.Start; va < vma.End;)
        {
            var tableEnd = Math.Min(vma.End, (va & ~(tableSpan - 1)) + tableSpan);
            if (PageTable.Find(va) is { } src)
            {
                var dst = child.PageTable.FindOrAlloc(va);
                using (dst.Ptl.Enter())
                using (src.Ptl.Enter(subclass: 1))
                {
                    for (var a = va; a < tableEnd; a += (ulong)PageSize)
                    {
                        var idx = PageTable.PteIndex(a);
                        var pte = src.Get(idx);
                        if (pte.Kind == PteKind.None)
                        {
                            continue;
                        }

                        switch (pte.Kind)
                        {
                            case PteKind.Present or PteKind.DevicePrivate:
                                var folio = Memory.PfnToFolio(pte.Pfn);
                                if (!folio.IsZeroPage)
                                {
                                    folio.Get();
                                    folio.AddMap();
                                    child.Rss.Add(false, 1);
                                }

                                break;
                            case PteKind.Migration:
                                child.Rss.Add(false, 1);
                                break;
                            default:
                                throw new NotSupportedException($"Fork: {pte.Kind} entries come with device-exclusive access, which this model does not build yet.");
                        }

                        if (pte.Write)
                        {
                            // Copy-on-write: the parent's entry loses write too. Only a present one
                            // can be in a TLB; device-private and migration entries need no flush.
                            writeProtected |= pte.Kind == PteKind.Present;
                            pte = pte.WithoutWrite();
                            src.Set(idx, pte);
                        }

                        dst.Set(idx, pte);
                    }
                }
            }

            va = tableEnd;
        }

        return writeProtected;
    }
}
