using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Exclusive;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Mm;

public sealed partial class AddressSpace
{
    /// <summary>
    /// <c>fork()</c>'s <c>dup_mmap()</c> (kernel/fork.c, mm/memory.c <c>copy_page_range</c>): a new
    /// address space with a copy of every VMA. Private mappings become copy-on-write: each present
    /// page gains a reference and a mapping in the child, and is write-protected in both (with a
    /// <see cref="MmuNotifierEvent.ProtectionPage"/> invalidation on the parent and one TLB flush at
    /// the end). A device-exclusive entry is first restored to a present PTE with a trylock of its
    /// folio. Shared mappings share their shmem object and copy no PTEs: the child refaults them.
    /// Takes the parent's mmap lock for write and the child's nested inside it.
    /// </summary>
    /// <returns>-EBUSY: a device-exclusive entry's folio was locked (the half-built child is torn down). -EFAULT: this address space is dead.</returns>
    public Errno Fork(out AddressSpace? child)
    {
        child = null;
        var copy = Kernel.CreateAddressSpace();
        var err = Errno.Ok;
        MmapLock.DownWrite();
        copy.MmapLock.DownWrite(subclass: 1);
        try
        {
            if (IsDead)
            {
                err = Errno.EFAULT;
                return err;
            }

            var writeProtected = false;
            foreach (var vma in _vmas)
            {
                var childVma = new Vma(copy, vma.Start, vma.End, vma.Prot, vma.Shmem, vma.AnonVma, vma.PgOff) { HugePage = vma.HugePage };
                vma.Rmap.Link(childVma);
                copy._vmas.Add(childVma);
                if (vma.IsShared)
                {
                    continue;
                }

                Notifiers.InvalidateRangeStart(new MmuNotifierRange(this, vma.Start, vma.End, MmuNotifierEvent.ProtectionPage));
                err = CopyPteRange(copy, vma, ref writeProtected);
                Notifiers.InvalidateRangeEnd();
                if (err != Errno.Ok)
                {
                    break;
                }
            }

            if (writeProtected)
            {
                FlushTlbRange(0, TaskSize);
            }

            return err;
        }
        finally
        {
            copy.MmapLock.UpWrite();
            MmapLock.UpWrite();
            if (err == Errno.Ok)
            {
                child = copy;
            }
            else
            {
                if (err == Errno.EBUSY)
                {
                    Kernel.Counters.Count(MmEvent.ExclusiveBusy);
                }

                copy.Dispose();
            }
        }
    }

    /// <summary>
    /// <c>copy_pte_range()</c> for a private VMA: takes the child's PTE lock, then the parent's nested,
    /// and shares every page copy-on-write. A present or device-private page gains a reference and
    /// a mapping; a writable entry (present, device-private or migration) becomes read-only in both,
    /// and <paramref name="writeProtected"/> records whether a present one did (it needs a TLB flush).
    /// Returns -EBUSY if a device-exclusive entry could not be restored.
    /// </summary>
    private Errno CopyPteRange(AddressSpace child, Vma vma, ref bool writeProtected)
    {
        for (var va = vma.Start; va < vma.End;)
        {
            var tableEnd = PageTable.PmdAddrEnd(va, vma.End);
            if (PageTable.Find(va) is { } src)
            {
                var dst = child.PageTable.FindOrAlloc(va);
                using (dst.Ptl.Enter())
                using (src.Ptl.Enter(subclass: 1))
                {
                    if (src.GetPmd() is { Kind: not PteKind.None } pmd)
                    {
                        var copied = CopyEntry(child, pmd, PteTable.Entries, ref writeProtected);
                        src.SetPmd(copied);
                        dst.SetPmd(copied);
                        va = tableEnd;
                        continue;
                    }

                    for (var a = va; a < tableEnd; a += (ulong)PageSize)
                    {
                        var idx = PageTable.PteIndex(a);
                        var pte = src.Get(idx);
                        if (pte.Kind == PteKind.None)
                        {
                            continue;
                        }

                        if (pte.Kind == PteKind.DeviceExclusive)
                        {
                            if (DeviceExclusive.TryRestoreExclusivePte(vma, src, idx, pte) != Errno.Ok)
                            {
                                return Errno.EBUSY;
                            }

                            pte = src.Get(idx);
                        }

                        var copied = CopyEntry(child, pte, 1, ref writeProtected);
                        src.Set(idx, copied);
                        dst.Set(idx, copied);
                    }
                }
            }

            va = tableEnd;
        }

        return Errno.Ok;
    }

    /// <summary>
    /// One entry mapping <paramref name="pages"/> pages (a PTE, or a huge PMD as <c>copy_huge_pmd()</c>
    /// copies it) shared copy-on-write: a present or device-private folio gains a reference and a
    /// mapping, the child's RSS grows, and a writable entry comes back read-only, for both sides.
    /// </summary>
    private static Pte CopyEntry(AddressSpace child, Pte pte, int pages, ref bool writeProtected)
    {
        if (pte.Kind is PteKind.Present or PteKind.DevicePrivate)
        {
            var folio = child.Memory.PfnToFolio(pte.Pfn);
            if (folio.IsZeroPage)
            {
                return pte;
            }

            folio.Get();
            folio.AddMap();
        }

        child.Rss.Add(false, pages);
        if (!pte.Write)
        {
            return pte;
        }

        // Copy-on-write: the parent's entry loses write too. Only a present one can be in a TLB;
        // device-private and migration entries need no flush.
        writeProtected |= pte.Kind == PteKind.Present;
        return pte.WithoutWrite();
    }
}
