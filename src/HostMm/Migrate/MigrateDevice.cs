using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Migrate;

/// <summary>
/// Device memory migration (mm/migrate_device.c). A driver moves pages of one VMA with
/// <see cref="MigrateVmaSetup"/> (collect and unmap the sources), allocates and copies the
/// destinations itself, then calls <see cref="MigrateVmaPages"/> (move the page metadata) and
/// <see cref="MigrateVmaFinalize"/> (point the PTEs at the new pages, or back at the old ones).
/// <see cref="MigrateDeviceRange"/>, <see cref="MigrateDevicePages"/> and
/// <see cref="MigrateDeviceFinalize"/> do the same for device frames chosen by frame number, with no
/// VMA: eviction through the reverse map alone (seed 004).
/// </summary>
/// <remarks>
/// Every reason the kernel gives up on a page is kept, and counted: an entry it does not select
/// (kind, owner, a large folio), a folio with no mapping, a DMA-pinned folio, a trylock failure at
/// collect, a folio still mapped after <c>try_to_migrate</c>, references beyond the migration's
/// own, the fault page's and the mappings' (<c>migrate_vma_check_page</c>, then again in
/// <c>folio_migrate_mapping</c>), a missing destination, and a destination that cannot be
/// installed (not anonymous, or the PTE changed). Transparent huge pages move whole with
/// <see cref="MigrateVmaFlags.SelectCompound"/> when the driver gives a 2 MiB destination, and are
/// split otherwise (see <c>Collect</c> and <c>Pages</c>).
/// <para>Collect takes no reference of its own on a page it locks: the reference of the PTE it
/// replaces with a migration entry becomes the migration's, under the PTE lock and the folio lock.
/// The kernel takes one before the trylock and drops the PTE's after, because it must hold the
/// folio while isolating it from the LRU, which the model does not have. Once the trylock has
/// succeeded nobody who could check references (they need the folio lock) can see the difference,
/// and the model saves two atomic operations per page. When the trylock fails, the transient
/// reference is taken and dropped, so the holder of the lock can still see it, as in the
/// kernel.</para>
/// <para>For the same reason the mapcount of an anonymous page whose only mapping collect removes is
/// cleared with a plain store (<see cref="Folio.RemoveMapLocked"/>), and the first mapping of a
/// destination is counted with one (<see cref="Folio.AddFirstMap"/>): holding the folio lock and the
/// PTL of the only mapping, nobody else can change the count. One atomic operation fewer each, per
/// page; the counts are the kernel's.</para>
/// </remarks>
public static class MigrateDevice
{
    /// <summary>
    /// <c>migrate_vma_setup()</c>: collects the pages of <c>[Start, End)</c> under a
    /// <see cref="MmuNotifierEvent.Migrate"/> invalidation carrying <see cref="MigrateVma.PgmapOwner"/>,
    /// locks them, replaces their PTEs with migration entries and checks them for extra references;
    /// pages that cannot move are restored. Afterwards every <see cref="MigratePfn.Migrate"/> entry of
    /// <see cref="MigrateVma.Src"/> is locked, unmapped and stable. The caller holds the mmap lock
    /// for read.
    /// </summary>
    /// <returns>
    /// -EINVAL: no VMA, an empty range or one outside the VMA, arrays shorter than the range, a fault
    /// page that is not device-private memory of <see cref="MigrateVma.PgmapOwner"/> (the kernel trusts
    /// its driver here; the model refuses another owner's page, a driver bug), or (under
    /// <see cref="SwapFaultLocking.Locked"/>) not locked.
    /// </returns>
    public static Errno MigrateVmaSetup(MigrateVma args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Vma is not { } vma)
        {
            return Errno.EINVAL;
        }

        var mm = vma.Mm;
        args.Start &= ~mm.PageMask;
        args.End &= ~mm.PageMask;
        var nrPages = args.End > args.Start ? (long)((args.End - args.Start) >> mm.PageShift) : 0;
        if (nrPages <= 0 || args.Start < vma.Start || args.Start >= vma.End || args.End > vma.End ||
            args.Src.Length < nrPages || args.Dst.Length < nrPages)
        {
            return Errno.EINVAL;
        }

        if (args.FaultPage is { } fault &&
            (fault.Kind != PageKind.DevicePrivate || fault.Pgmap!.Owner != args.PgmapOwner || (mm.Kernel.SwapFaultLocking == SwapFaultLocking.Locked && !fault.IsLocked)))
        {
            return Errno.EINVAL;
        }

        Array.Clear(args.Src, 0, (int)nrPages);
        args.Cpages = 0;
        args.Npages = 0;
        Collect(args);
        if (args.Cpages > 0)
        {
            args.Cpages = Unmap(mm.Kernel, args.Src, args.Npages, args.FaultPage, LockedFault(args));
        }

        return Errno.Ok;
    }

    /// <summary>
    /// <c>migrate_vma_pages()</c>: for each source still marked <see cref="MigratePfn.Migrate"/> with a
    /// valid destination, moves the page metadata (reverse map, index, dirty) to the destination,
    /// provided no reference appeared since setup; an empty source gets the destination installed
    /// as a new anonymous page under a <see cref="MmuNotifierEvent.Migrate"/> invalidation. Clears
    /// <see cref="MigratePfn.Migrate"/> where it fails. The caller holds the mmap lock for read.
    /// </summary>
    public static void MigrateVmaPages(MigrateVma args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Pages(args.Vma?.Mm.Kernel ?? throw new ArgumentException("MigrateVmaPages: no VMA (call MigrateVmaSetup first).", nameof(args)), args.Src, args.Dst, args.Npages, args);
    }

    /// <summary>
    /// <c>migrate_vma_finalize()</c>: replaces every migration entry with the destination where the
    /// page moved, the source where it did not, and unlocks and releases sources and destinations
    /// (never the fault page's lock). The caller holds the mmap lock for read.
    /// </summary>
    public static void MigrateVmaFinalize(MigrateVma args)
    {
        ArgumentNullException.ThrowIfNull(args);
        Finalize(args.Vma?.Mm.Kernel ?? throw new ArgumentException("MigrateVmaFinalize: no VMA (call MigrateVmaSetup first).", nameof(args)), args.Src, args.Dst, args.Npages, LockedFault(args));
    }

    /// <summary>
    /// <c>migrate_device_pfn_lock()</c>: takes a reference on and trylocks the device frame of
    /// <paramref name="folio"/>; returns its <see cref="MigratePfn.Migrate"/> entry, or 0 if the frame
    /// is free or locked.
    /// </summary>
    public static ulong MigrateDevicePfnLock(Folio folio)
    {
        ArgumentNullException.ThrowIfNull(folio);
        if (!folio.TryGet())
        {
            return 0;
        }

        if (!folio.TryLockOrFallBack())
        {
            folio.Put();
            return 0;
        }

        return MigratePfn.Make(folio.Pfn) | MigratePfn.Migrate;
    }

    /// <summary>
    /// <c>migrate_device_range()</c>: selects device frames <c>[startPfn, startPfn + npages)</c> of
    /// one pagemap for migration to system memory, without any VMA: each is referenced and locked,
    /// then unmapped from every address space through the reverse map. A device THP is selected
    /// whole, at its head, as one <see cref="MigratePfn.Compound"/> entry (its tail frames' entries
    /// stay empty, or are filled when the driver gives small destinations); one the range does not
    /// hold whole is left alone. Needs no mmap lock. The caller must not hold a lock its own
    /// invalidate callback takes (seed 004).
    /// </summary>
    /// <returns>-EINVAL: the frames are not all in one device pagemap, or <paramref name="src"/> is too short.</returns>
    public static Errno MigrateDeviceRange(HostKernel kernel, ulong[] src, long startPfn, long npages)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(src);
        var pagemap = kernel.Memory.FindPagemap(startPfn);
        if (npages <= 0 || src.Length < npages || pagemap is null || !pagemap.Contains(startPfn + npages - 1))
        {
            return Errno.EINVAL;
        }

        for (var i = 0; i < npages; i++)
        {
            var folio = pagemap.PfnToFolio(startPfn + i);
            src[i] = folio.Pfn != startPfn + i || i + folio.NrPages > npages ? 0 : MigrateDevicePfnLock(folio);
            if (src[i] != 0 && folio.Order > 0)
            {
                src[i] |= MigratePfn.Compound;
            }
        }

        MigrateDeviceUnmap(kernel, src, npages);
        return Errno.Ok;
    }

    /// <summary>
    /// <c>migrate_device_unmap()</c>: unmaps every selected, locked source through the reverse map
    /// (<c>try_to_migrate</c>) and checks it for extra references; sources that stay mapped or are
    /// referenced elsewhere are restored, unlocked and dropped. Returns how many remain selected.
    /// </summary>
    public static long MigrateDeviceUnmap(HostKernel kernel, ulong[] src, long npages) => Unmap(kernel, src, npages, null, null);

    /// <summary><c>migrate_device_pages()</c>: <see cref="MigrateVmaPages"/> for <see cref="MigrateDeviceRange"/>.</summary>
    public static void MigrateDevicePages(HostKernel kernel, ulong[] src, ulong[] dst, long npages) => Pages(kernel, src, dst, npages, null);

    /// <summary><c>migrate_device_finalize()</c>: <see cref="MigrateVmaFinalize"/> for <see cref="MigrateDeviceRange"/>.</summary>
    public static void MigrateDeviceFinalize(HostKernel kernel, ulong[] src, ulong[] dst, long npages) => Finalize(kernel, src, dst, npages, null);

    /// <summary>The fault page the migration must neither lock nor unlock: only a page <c>DoSwapPage</c> locked.</summary>
    private static Folio? LockedFault(MigrateVma args) =>
        args.Vma?.Mm.Kernel.SwapFaultLocking == SwapFaultLocking.Locked ? args.FaultPage : null;

    private static Folio? PageOf(HostKernel kernel, ulong entry) =>
        MigratePfn.ToPfn(entry) is var pfn and >= 0 ? kernel.Memory.PfnToFolio(pfn) : null;

    /// <summary>
    /// <c>migrate_vma_collect()</c> with <c>migrate_vma_collect_pmd</c> and the hole callback. With
    /// <see cref="MigrateVmaFlags.SelectCompound"/>, a selected THP mapped by a PMD the range covers
    /// whole is collected as one <see cref="MigratePfn.Compound"/> entry (and an empty span of an
    /// anonymous VMA offered as one), followed by 511 empty entries the driver fills if it falls back
    /// to small pages; otherwise such a PMD is split and its pages collected one by one. A PTE-mapped
    /// large folio is split first (<c>migrate_vma_split_folio()</c>) and the walk resumes where it was.
    /// </summary>
    private static void Collect(MigrateVma args)
    {
        var vma = args.Vma!;
        var mm = vma.Mm;
        var compound = (args.Flags & MigrateVmaFlags.SelectCompound) != 0;
        mm.Notifiers.InvalidateRangeStart(new MmuNotifierRange(mm, args.Start, args.End, MmuNotifierEvent.Migrate, args.PgmapOwner));
        var unsplittable = ulong.MaxValue;
        for (var va = args.Start; va < args.End;)
        {
            var tableEnd = mm.PageTable.PmdAddrEnd(va, args.End);
            var whole = compound && tableEnd - va == mm.PmdSize;
            var table = mm.PageTable.Find(va);
            if (table is null)
            {
                if (whole && vma.IsAnonymous)
                {
                    RecordCompound(args, MigratePfn.Migrate | MigratePfn.Compound);
                }
                else
                {
                    for (; va < tableEnd; va += (ulong)mm.PageSize)
                    {
                        Record(args, vma.IsAnonymous ? MigratePfn.Migrate : 0, collected: vma.IsAnonymous);
                    }
                }

                va = tableEnd;
                continue;
            }

            Folio? large;
            using (table.Ptl.Enter())
            {
                if (CollectPmd(args, table, va, whole))
                {
                    va = tableEnd;
                    continue;
                }

                large = CollectPtes(args, table, ref va, tableEnd, unsplittable);
            }

            if (large is not null)
            {
                if (SplitCollected(args, large) != Errno.Ok)
                {
                    unsplittable = va;
                }
            }
        }

        mm.Notifiers.InvalidateRangeEnd();
        args.End = args.Start + ((ulong)args.Npages << mm.PageShift);
    }

    /// <summary>
    /// <c>migrate_vma_collect_huge_pmd()</c> under the table's lock: true when the PMD entry (or an
    /// empty span, for a compound request) was recorded whole; false when the span must be walked
    /// PTE by PTE, a selected PMD the range does not cover whole having been split.
    /// </summary>
    private static bool CollectPmd(MigrateVma args, PteTable table, ulong va, bool whole)
    {
        var vma = args.Vma!;
        var mm = vma.Mm;
        var pmd = table.GetPmd();
        if (pmd.Kind == PteKind.None)
        {
            if (!whole || !vma.IsAnonymous || !table.IsEmpty())
            {
                return false;
            }

            RecordCompound(args, MigratePfn.Migrate | MigratePfn.Compound);
            return true;
        }

        var (mpfn, folio) = Select(args, pmd);
        if (folio is null)
        {
            for (var a = va; a < mm.PageTable.PmdAddrEnd(va, args.End); a += (ulong)mm.PageSize)
            {
                Record(args, 0, collected: false);
            }

            return true;
        }

        if (!whole)
        {
            mm.SplitHugePmd(table, va);
            return false;
        }

        if (folio.IsMaybeDmaPinned || (folio != LockedFault(args) && !folio.TryLockOrFallBack()))
        {
            mm.Kernel.Counters.Count(folio.IsMaybeDmaPinned ? MmEvent.MigrateFailPinned : MmEvent.MigrateFailLocked);
            RecordCompound(args, 0);
            return true;
        }

        table.SetPmd(Pte.Migration(pmd.Pfn, pmd.Write));
        if (pmd.Dirty)
        {
            folio.MarkDirty();
        }

        folio.RemoveMapLocked();
        if (pmd.Kind == PteKind.Present)
        {
            mm.FlushTlbRange(va, va + mm.PmdSize);
        }

        RecordCompound(args, mpfn | MigratePfn.Compound);
        return true;
    }

    /// <summary>
    /// The PTE walk of <c>migrate_vma_collect_pmd()</c> from <paramref name="va"/> to
    /// <paramref name="tableEnd"/> under the table's lock. Stops at a page of a large folio and
    /// returns that folio with a reference, for the caller to split without the lock, leaving
    /// <paramref name="va"/> at it — unless it is at <paramref name="unsplittable"/>, where a split
    /// already failed: that page is skipped.
    /// </summary>
    private static Folio? CollectPtes(MigrateVma args, PteTable table, ref ulong va, ulong tableEnd, ulong unsplittable)
    {
        var mm = args.Vma!.Mm;
        var lockedFault = LockedFault(args);
        var counters = mm.Kernel.Counters;
        var unmapped = false;
        var first = va;
        Folio? large = null;
        for (; va < tableEnd; va += (ulong)mm.PageSize)
        {
            var idx = mm.PageTable.PteIndex(va);
            var pte = table.Get(idx);
            var (mpfn, folio) = Select(args, pte);
            if (folio is null)
            {
                Record(args, mpfn, collected: mpfn != 0);
                continue;
            }

            if (folio.Order > 0)
            {
                if (va != unsplittable)
                {
                    folio.Get();
                    large = folio;
                    break;
                }

                Record(args, 0, collected: false);
                continue;
            }

            if (folio.IsMaybeDmaPinned)
            {
                counters.Count(MmEvent.MigrateFailPinned);
                Record(args, 0, collected: false);
                continue;
            }

            if (folio != lockedFault && !folio.TryLockOrFallBack())
            {
                // The kernel's reference from before its trylock: whoever holds the lock
                // may see it in a reference check (and fail a migration of its own).
                folio.Get();
                folio.Put();
                counters.Count(MmEvent.MigrateFailLocked);
                Record(args, 0, collected: false);
                continue;
            }

            table.Set(idx, Pte.Migration(pte.Pfn, (mpfn & MigratePfn.Write) != 0));
            if (pte.Dirty)
            {
                folio.MarkDirty();
            }

            folio.RemoveMapLocked();
            unmapped |= pte.Kind == PteKind.Present;
            Record(args, mpfn, collected: true);
        }

        if (unmapped)
        {
            mm.FlushTlbRange(first, va);
        }

        return large;
    }

    /// <summary>
    /// <c>migrate_vma_split_folio()</c>: splits the PTE-mapped large folio collect stopped at (holding
    /// a reference on it) with the folio lock — already held if it is the fault page — and drops the
    /// reference. -EBUSY when the lock or the split failed.
    /// </summary>
    private static Errno SplitCollected(MigrateVma args, Folio folio)
    {
        var kernel = args.Vma!.Mm.Kernel;
        var lockedFault = LockedFault(args);
        var err = Errno.EBUSY;
        if (folio == lockedFault || folio.TryLockOrFallBack())
        {
            err = AddressSpace.SplitFolio(kernel, folio, extraRefs: folio == args.FaultPage ? 1 : 0);
            if (folio != lockedFault)
            {
                folio.Unlock();
            }
        }

        folio.Put();
        return err;
    }

    /// <summary>
    /// Which entry <paramref name="pte"/> gets at collect, and the folio to lock and unmap (null when
    /// there is none: an empty or zero-page entry offered for population, or a page not selected).
    /// </summary>
    private static (ulong Mpfn, Folio? Folio) Select(MigrateVma args, Pte pte)
    {
        var vma = args.Vma!;
        var memory = vma.Mm.Memory;
        Folio folio;
        switch (pte.Kind)
        {
            case PteKind.None:
                return (vma.IsAnonymous ? MigratePfn.Migrate : 0, null);
            case PteKind.DevicePrivate:
                folio = memory.PfnToFolio(pte.Pfn);
                if ((args.Flags & MigrateVmaFlags.SelectDevicePrivate) == 0 || folio.Pgmap!.Owner != args.PgmapOwner)
                {
                    return (0, null);
                }

                break;
            case PteKind.Present:
                folio = memory.PfnToFolio(pte.Pfn);
                var system = (args.Flags & MigrateVmaFlags.SelectSystem) != 0;
                if (folio.IsZeroPage)
                {
                    return (system ? MigratePfn.Migrate : 0, null);
                }

                if ((folio.Kind == PageKind.System && !system) ||
                    (folio.Kind == PageKind.DeviceCoherent &&
                     ((args.Flags & MigrateVmaFlags.SelectDeviceCoherent) == 0 || folio.Pgmap!.Owner != args.PgmapOwner)))
                {
                    return (0, null);
                }

                break;
            default:
                return (0, null);
        }

        if (folio.Mapping is null)
        {
            return (0, null);
        }

        return (MigratePfn.Make(pte.Pfn) | MigratePfn.Migrate | (pte.Write ? MigratePfn.Write : 0), folio);
    }

    /// <summary>One entry for a whole PMD span (collected unless 0), then an empty one for each of its other pages.</summary>
    private static void RecordCompound(MigrateVma args, ulong mpfn)
    {
        Record(args, mpfn, collected: mpfn != 0);
        for (var i = 1; i < PteTable.Entries; i++)
        {
            Record(args, 0, collected: false);
        }
    }

    private static void Record(MigrateVma args, ulong mpfn, bool collected)
    {
        args.Src[args.Npages] = mpfn;
        args.Dst[args.Npages] = 0;
        args.Npages++;
        if (collected)
        {
            args.Cpages++;
        }
    }

    /// <summary><c>migrate_device_unmap()</c>; <paramref name="lockedFault"/> is neither unlocked nor counted as unexpected.</summary>
    private static long Unmap(HostKernel kernel, ulong[] src, long npages, Folio? faultPage, Folio? lockedFault)
    {
        long unmapped = 0, restore = 0;
        for (var i = 0; i < npages; i++)
        {
            if (MigratePfn.ToPfn(src[i]) < 0)
            {
                unmapped += (src[i] & MigratePfn.Migrate) != 0 ? 1 : 0;
                continue;
            }

            var folio = PageOf(kernel, src[i])!;
            if (folio.MapCount > 0)
            {
                MigrationEntries.TryToMigrate(folio);
            }

            if (folio.MapCount > 0 || !CheckPage(folio, faultPage))
            {
                kernel.Counters.Count(MmEvent.MigrateFailRefs);
                src[i] &= ~MigratePfn.Migrate;
                restore++;
                continue;
            }

            unmapped++;
        }

        for (var i = 0; i < npages && restore > 0; i++)
        {
            if (MigratePfn.ToPfn(src[i]) < 0 || (src[i] & MigratePfn.Migrate) != 0)
            {
                continue;
            }

            var folio = PageOf(kernel, src[i])!;
            MigrationEntries.RemoveMigrationPtes(folio, folio);
            src[i] = 0;
            if (folio != lockedFault)
            {
                folio.Unlock();
            }

            folio.Put();
            restore--;
        }

        return unmapped;
    }

    /// <summary>
    /// <c>migrate_vma_check_page()</c>: false if anyone beyond the migration (one reference), the fault
    /// (one more on the fault page), the page cache (one, for shmem) and the mappings holds a reference.
    /// </summary>
    private static bool CheckPage(Folio folio, Folio? faultPage)
    {
        var extra = 1 + (folio == faultPage ? 1 : 0) + (folio.Mapping is ShmemObject ? 1 : 0);
        return folio.RefCount - extra <= folio.MapCount;
    }

    /// <summary>
    /// <c>__migrate_device_pages()</c>. A <see cref="MigratePfn.Compound"/> source whose destination is
    /// a small page (the driver had no 2 MiB folio) is split first (<c>migrate_vma_split_unmapped_folio()</c>):
    /// a THP into 512 locked order-0 sources, an empty span into 512 empty entries, each migrated on
    /// its own to the destinations the driver gave.
    /// </summary>
    private static void Pages(HostKernel kernel, ulong[] src, ulong[] dst, long npages, MigrateVma? migrate)
    {
        var notified = false;
        for (var i = 0; i < npages; i++)
        {
            if (MigratePfn.ToPfn(dst[i]) < 0)
            {
                src[i] &= ~MigratePfn.Migrate;
                continue;
            }

            var newFolio = PageOf(kernel, dst[i])!;
            var folio = PageOf(kernel, src[i]);
            if ((src[i] & (MigratePfn.Compound | MigratePfn.Migrate)) == (MigratePfn.Compound | MigratePfn.Migrate) && newFolio.Order == 0)
            {
                SplitSource(kernel, src, i, folio);
            }

            if (folio is null)
            {
                if ((src[i] & MigratePfn.Migrate) == 0)
                {
                    continue;
                }

                if (migrate is null)
                {
                    throw new InvalidOperationException("MigrateDevicePages: an empty source entry needs a VMA (use MigrateVmaPages).");
                }

                var mm = migrate.Vma!.Mm;
                var addr = migrate.Start + ((ulong)i << mm.PageShift);
                if (!notified)
                {
                    notified = true;
                    mm.Notifiers.InvalidateRangeStart(new MmuNotifierRange(mm, addr, migrate.End, MmuNotifierEvent.Migrate, migrate.PgmapOwner));
                }

                InsertPage(migrate, addr, newFolio, ref src[i]);
                continue;
            }

            var extra = migrate?.FaultPage == folio ? 1 : 0;
            if (!folio.IsAnon || folio.RefCount != 1 + extra || folio.Order != newFolio.Order)
            {
                kernel.Counters.Count(MmEvent.MigrateFailRefs);
                src[i] &= ~MigratePfn.Migrate;
                continue;
            }

            newFolio.Mapping = folio.Mapping;
            newFolio.Index = folio.Index;
            if (folio.Dirty)
            {
                newFolio.MarkDirty();
            }
        }

        if (notified)
        {
            migrate!.Vma!.Mm.Notifiers.InvalidateRangeEnd();
        }
    }

    /// <summary>
    /// The split of a compound source at <paramref name="i"/> whose destination is a small page: a
    /// THP (locked, unmapped, mapped only by migration entries) has its migration PMDs split and
    /// becomes 512 order-0 folios, each locked with the migration's reference and entered in
    /// <paramref name="src"/>; an empty span becomes 512 empty entries.
    /// </summary>
    private static void SplitSource(HostKernel kernel, ulong[] src, int i, Folio? folio)
    {
        var flags = src[i] & (MigratePfn.Migrate | MigratePfn.Write);
        src[i] &= ~MigratePfn.Compound;
        if (folio is null)
        {
            for (var j = 1; j < PteTable.Entries; j++)
            {
                src[i + j] = MigratePfn.Migrate;
            }

            return;
        }

        MigrationEntries.SplitMigrationPmds(folio);
        kernel.Memory.SplitUnmapped(folio);
        for (var j = 1; j < PteTable.Entries; j++)
        {
            src[i + j] = MigratePfn.Make(folio.Pfn + j) | flags;
        }

        kernel.Counters.Count(MmEvent.ThpMigrationSplit);
    }

    /// <summary>
    /// <c>migrate_vma_insert_page()</c>: maps a new page where setup found an empty or zero-page entry,
    /// as <c>do_anonymous_page</c> would — a 2 MiB destination with one PMD entry over an empty span
    /// (<c>migrate_vma_insert_huge_pmd_page()</c>); clears <see cref="MigratePfn.Migrate"/> if the VMA
    /// is not anonymous or the entry (or span) is no longer empty.
    /// </summary>
    private static void InsertPage(MigrateVma migrate, ulong addr, Folio folio, ref ulong srcEntry)
    {
        var vma = migrate.Vma!;
        var mm = vma.Mm;
        if (!vma.IsAnonymous)
        {
            srcEntry &= ~MigratePfn.Migrate;
            return;
        }

        var entry = folio.Kind == PageKind.DevicePrivate
            ? Pte.DevicePrivate(folio.Pfn, vma.Writable)
            : Pte.Present(folio.Pfn, vma.Writable, dirty: vma.Writable);
        var table = mm.PageTable.FindOrAlloc(addr);
        var idx = mm.PageTable.PteIndex(addr);
        using (table.Ptl.Enter())
        {
            var orig = table.Get(idx);
            var overZeroPage = orig.Kind == PteKind.Present && orig.Pfn == mm.Kernel.ZeroPage.Pfn;
            if (mm.IsDead || table.GetPmd().Kind != PteKind.None || (orig.Kind != PteKind.None && !overZeroPage) ||
                (folio.Order > 0 && !table.IsEmpty()))
            {
                srcEntry &= ~MigratePfn.Migrate;
                return;
            }

            mm.Rss.Add(false, folio.NrPages);
            folio.Mapping = vma.AnonVma;
            folio.Index = vma.LinearPageIndex(addr);
            folio.Get();
            folio.AddMap();
            if (overZeroPage)
            {
                table.Set(idx, Pte.None);
                mm.FlushTlbRange(addr, addr + (ulong)mm.PageSize);
            }

            if (folio.Order > 0)
            {
                table.SetPmd(entry);
            }
            else
            {
                table.Set(idx, entry);
            }

            srcEntry = MigratePfn.Migrate | (srcEntry & MigratePfn.Compound);
        }
    }

    /// <summary>
    /// <c>__migrate_device_finalize()</c>. References are dropped through a <see cref="FolioBatch"/>,
    /// so the sources a migration to the device frees go back to the buddy allocator a batch at a time;
    /// the PTE table lock is kept from one page to the next (<see cref="PtlHold"/>); and the moves are
    /// counted once at the end (<c>count_vm_events</c>). The migration's reference on the folio that
    /// ends up mapped (the destination's, or the source's own when it stays) becomes its first
    /// mapping's, where the kernel takes a reference per mapping and then drops the migration's: the
    /// same count with two atomic operations fewer per page, and no one can see the difference, since
    /// the folio stays locked, under the PTE lock, until both would have been done. A source that
    /// moved and that only the migration still holds is unlocked and released with one atomic
    /// operation instead of two (<see cref="FolioBatch.UnlockPut"/>): its migration entries are gone,
    /// replaced under their PTE locks, so any thread waiting on them is counted already.
    /// </summary>
    private static void Finalize(HostKernel kernel, ulong[] src, ulong[] dst, long npages, Folio? lockedFault)
    {
        var puts = default(FolioBatch);
        var ptl = default(PtlHold);
        long toDevice = 0, toRam = 0, thps = 0;
        for (var i = 0; i < npages; i++)
        {
            var dstFolio = PageOf(kernel, dst[i]);
            var srcFolio = PageOf(kernel, src[i]);
            if (srcFolio is null)
            {
                if (dstFolio is not null)
                {
                    if ((src[i] & MigratePfn.Migrate) != 0)
                    {
                        CountMove(null, dstFolio, ref toDevice, ref toRam, ref thps);
                    }

                    dstFolio.Unlock();
                    puts.Put(dstFolio);
                }

                continue;
            }

            if ((src[i] & MigratePfn.Migrate) == 0 || dstFolio is null)
            {
                if (dstFolio is not null)
                {
                    dstFolio.Unlock();
                    puts.Put(dstFolio);
                }

                dstFolio = srcFolio;
            }

            var given = MigrationEntries.RemoveMigrationPtes(srcFolio, dstFolio, ref ptl, giveReference: true);
            if (dstFolio != srcFolio)
            {
                CountMove(srcFolio, dstFolio, ref toDevice, ref toRam, ref thps);
                if (srcFolio != lockedFault)
                {
                    puts.UnlockPut(srcFolio);
                }
                else
                {
                    puts.Put(srcFolio);
                }
            }

            if (dstFolio != lockedFault)
            {
                dstFolio.Unlock();
            }

            if (!given)
            {
                puts.Put(dstFolio);
            }
        }

        ptl.Release();
        puts.Release();
        kernel.Counters.Count(MmEvent.MigratedToDevice, toDevice);
        kernel.Counters.Count(MmEvent.MigratedToRam, toRam);
        kernel.Counters.Count(MmEvent.ThpMigrationSuccess, thps);
    }

    private static void CountMove(Folio? src, Folio dst, ref long toDevice, ref long toRam, ref long thps)
    {
        var device = dst.Kind != PageKind.System;
        if (src is null || (src.Kind == PageKind.System) == device)
        {
            (device ? ref toDevice : ref toRam) += dst.NrPages;
            thps += dst.Order > 0 ? 1 : 0;
        }
    }
}
