using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Exclusive;

/// <summary>
/// Device-exclusive access (mm/rmap.c <c>make_device_exclusive()</c>, mm/memory.c
/// <c>remove_device_exclusive_entry()</c>): a page stays in system RAM while one device does atomics
/// on it, and the CPU loses access until it faults, which gives the page back. The device-exclusive
/// entry replaces the PTE without changing the folio's mapcount: it still counts as the mapping.
/// </summary>
public static class DeviceExclusive
{
    /// <summary>
    /// <c>make_device_exclusive()</c>: faults the page at <paramref name="addr"/> in writable (as GUP
    /// with <c>FOLL_WRITE</c>), locks its folio (<see cref="ExclusiveLocking.LockKillable"/> by
    /// default, or the old trylock), fires a <see cref="MmuNotifierEvent.Exclusive"/> invalidation with
    /// <paramref name="owner"/> (which the caller's own callback must filter out, seed 002), checks
    /// the PTE still maps that folio writable (retrying from the fault if not), clears and flushes it
    /// and installs a device-exclusive entry. On success <paramref name="folio"/> is returned locked
    /// and referenced, with <paramref name="pfn"/>, the frame of the page at <paramref name="addr"/>
    /// (a tail page's own frame when the folio is large, as the kernel returns the page): the caller
    /// maps that frame into its device under its notifier lock, then unlocks and puts the folio. The
    /// caller holds the mmap lock for read.
    /// </summary>
    /// <returns>
    /// -EFAULT: no VMA, or a VMA that is not writable. -EOPNOTSUPP: the page is not anonymous (a
    /// shared mapping). -EBUSY: <see cref="ExclusiveLocking.TryLock"/> found the folio locked.
    /// -EBUSY is also injected at <see cref="FaultPoint.Busy"/>. -EINTR: <paramref name="fatalSignal"/> ended the killable wait. -ENOMEM: the fault could not
    /// allocate.
    /// </returns>
    public static Errno MakeDeviceExclusive(AddressSpace mm, ulong addr, object owner, out Folio? folio, out long pfn, CancellationToken fatalSignal = default)
    {
        ArgumentNullException.ThrowIfNull(mm);
        ArgumentNullException.ThrowIfNull(owner);
        folio = null;
        pfn = -1;
        addr &= ~mm.PageMask;
        if (mm.Kernel.FaultInjection.ShouldFail(FaultPoint.Busy))
        {
            mm.Kernel.Counters.Count(MmEvent.ExclusiveBusy);
            return Errno.EBUSY;
        }

        while (true)
        {
            var err = GetUserPageWrite(mm, addr, out var vma, out var page, out pfn);
            if (err != Errno.Ok)
            {
                return err;
            }

            if (!page!.IsAnon)
            {
                page.Put();
                return Errno.EOPNOTSUPP;
            }

            if (mm.Kernel.ExclusiveLocking == ExclusiveLocking.TryLock)
            {
                if (!page.TryLockOrFallBack())
                {
                    page.Put();
                    mm.Kernel.Counters.Count(MmEvent.ExclusiveBusy);
                    return Errno.EBUSY;
                }
            }
            else if (page.LockKillable(fatalSignal) is var locked && locked != Errno.Ok)
            {
                page.Put();
                return locked;
            }

            mm.Notifiers.InvalidateRangeStart(new MmuNotifierRange(mm, addr, addr + (ulong)mm.PageSize, MmuNotifierEvent.Exclusive, owner));
            var table = mm.PageTable.FindOrAlloc(addr);
            var idx = mm.PageTable.PteIndex(addr);
            var converted = false;
            using (table.Ptl.Enter())
            {
                var pte = table.Get(idx);
                if (pte.Kind == PteKind.Present && pte.Pfn == pfn && pte.Write)
                {
                    table.Set(idx, Pte.None);
                    mm.FlushTlbRange(addr, addr + (ulong)mm.PageSize);
                    if (pte.Dirty)
                    {
                        page.MarkDirty();
                    }

                    table.Set(idx, Pte.DeviceExclusive(pfn, write: true));
                    converted = true;
                }
            }

            mm.Notifiers.InvalidateRangeEnd();
            if (converted)
            {
                mm.Kernel.Counters.Count(MmEvent.ExclusiveGranted);
                folio = page;
                return Errno.Ok;
            }

            page.Unlock();
            page.Put();
        }
    }

    /// <summary>
    /// <c>remove_device_exclusive_entry()</c>: a CPU fault on a device-exclusive entry. Takes a
    /// reference (none: the entry is already gone) and the folio lock, fires a
    /// <see cref="MmuNotifierEvent.Clear"/> invalidation with no owner so the device drops its
    /// exclusive mapping, and restores a present PTE, writable if the VMA allows, if the entry is
    /// unchanged. The fault is then retried. Caller holds the mmap lock for read.
    /// </summary>
    internal static Errno RemoveDeviceExclusiveEntry(AddressSpace mm, Vma vma, ulong va, Pte orig)
    {
        var folio = mm.Memory.PfnToFolio(orig.Pfn);
        if (!folio.TryGet())
        {
            return Errno.Ok;
        }

        folio.Lock();
        mm.Notifiers.InvalidateRangeStart(new MmuNotifierRange(mm, va, va + (ulong)mm.PageSize, MmuNotifierEvent.Clear));
        var table = mm.PageTable.FindOrAlloc(va);
        var idx = mm.PageTable.PteIndex(va);
        using (table.Ptl.Enter())
        {
            if (table.Get(idx) == orig)
            {
                table.Set(idx, RestoredPte(vma, folio, orig));
                mm.Kernel.Counters.Count(MmEvent.ExclusiveRevoked);
            }
        }

        folio.Unlock();
        folio.Put();
        mm.Notifiers.InvalidateRangeEnd();
        return Errno.Ok;
    }

    /// <summary>
    /// <c>try_restore_exclusive_pte()</c> for fork: trylocks the folio and restores the present PTE in
    /// place; -EBUSY if the folio is locked. The caller holds the PTE lock.
    /// </summary>
    internal static Errno TryRestoreExclusivePte(Vma vma, PteTable table, int idx, Pte orig)
    {
        var folio = vma.Mm.Memory.PfnToFolio(orig.Pfn);
        if (!folio.TryLockOrFallBack())
        {
            return Errno.EBUSY;
        }

        table.Set(idx, RestoredPte(vma, folio, orig));
        folio.Unlock();
        return Errno.Ok;
    }

    /// <summary><c>restore_exclusive_pte()</c>: present (the same page of the folio), old, writable (and dirty if the folio is) only if the VMA allows writes and the entry was writable.</summary>
    private static Pte RestoredPte(Vma vma, Folio folio, Pte orig)
    {
        var write = vma.Writable && orig.Write;
        return Pte.Present(orig.Pfn, write, dirty: write && folio.Dirty, young: false);
    }

    /// <summary>
    /// <c>get_user_page_vma_remote(FOLL_GET | FOLL_WRITE)</c>: faults until the PTE maps a page
    /// writable, then returns its folio with a reference and the page's own frame (a large folio
    /// stays PTE-mapped: the frame may be a tail page). A THP mapped by a PMD is split to PTEs first,
    /// as <c>FOLL_SPLIT_PMD</c> does: device-exclusive entries exist only at PTE level.
    /// </summary>
    private static Errno GetUserPageWrite(AddressSpace mm, ulong addr, out Vma? vma, out Folio? page, out long pfn)
    {
        page = null;
        pfn = -1;
        vma = mm.FindVma(addr);
        if (vma is null || !vma.Writable)
        {
            return Errno.EFAULT;
        }

        while (true)
        {
            var table = mm.PageTable.FindOrAlloc(addr);
            var idx = mm.PageTable.PteIndex(addr);
            using (table.Ptl.Enter())
            {
                if (table.GetPmd().Kind == PteKind.Present)
                {
                    mm.SplitHugePmd(table, addr);
                }

                var pte = table.Get(idx);
                if (pte.Kind == PteKind.Present && pte.Write)
                {
                    pfn = pte.Pfn;
                    page = mm.Memory.PfnToFolio(pfn);
                    page.Get();
                    return Errno.Ok;
                }
            }

            var err = mm.HandleMmFault(vma, addr, FaultFlags.Write);
            if (err != Errno.Ok)
            {
                return err;
            }
        }
    }
}
