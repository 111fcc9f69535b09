using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;
using Testbed.HostMm.Notifiers;

namespace Testbed.HostMm.Migrate;

/// <summary>
/// Migration entries through the reverse map: <c>try_to_migrate()</c> (mm/rmap.c) replaces every
/// mapping of a locked folio with a migration entry, and <c>remove_migration_ptes()</c>
/// (mm/migrate.c) replaces those entries with mappings of the destination (or of the source again
/// when the migration failed). Both find the PTEs from the folio alone, so eviction can run without
/// a VMA or the mmap lock.
/// </summary>
internal static class MigrationEntries
{
    /// <summary>
    /// <c>try_to_migrate()</c>: for every entry that maps <paramref name="folio"/> (present or
    /// device-private; each page of a large folio, or its PMD) fires a <see cref="MmuNotifierEvent.Clear"/>
    /// invalidation, installs a migration entry keeping the write permission, flushes the TLB if
    /// the entry was present, drops the mapping and its reference. With <paramref name="splitPmd"/>
    /// (<c>TTU_SPLIT_HUGE_PMD</c>) a PMD mapping is split first and its PTEs migrated one by one.
    /// The caller holds the folio lock and a reference.
    /// </summary>
    public static void TryToMigrate(Folio folio, bool splitPmd = false)
    {
        foreach (var (vma, address) in Rmap.Mappings(folio))
        {
            var mm = vma.Mm;
            var end = Math.Min(vma.End, address + ((ulong)folio.NrPages << mm.PageShift));
            var first = Math.Max(vma.Start, address);
            if (mm.PageTable.Find(first) is not { } table0 || (folio.Order == 0 && !Maps(table0.Get(mm.PageTable.PteIndex(first)), folio.Pfn)))
            {
                continue;
            }

            mm.Notifiers.InvalidateRangeStart(new MmuNotifierRange(mm, first, end, MmuNotifierEvent.Clear));
            var hold = default(PtlHold);
            var flush = false;
            if (HugeMapping(mm, ref hold, folio, address, vma, migration: false) is { } table)
            {
                if (!splitPmd)
                {
                    var pmd = table.GetPmd();
                    table.SetPmd(Pte.Migration(pmd.Pfn, pmd.Write));
                    Unmapped(mm, folio, pmd, address, end);
                    hold.Release();
                    mm.Notifiers.InvalidateRangeEnd();
                    continue;
                }

                mm.SplitHugePmd(table, address);
            }

            for (var a = first; a < end; a += (ulong)mm.PageSize)
            {
                if (hold.Enter(mm.PageTable, a) is not { } pt)
                {
                    continue;
                }

                var idx = mm.PageTable.PteIndex(a);
                var pte = pt.Get(idx);
                if (Maps(pte, folio.Pfn + (long)((a - address) >> mm.PageShift)))
                {
                    pt.Set(idx, Pte.Migration(pte.Pfn, pte.Write));
                    flush |= pte.Kind == PteKind.Present;
                    Unmapped(mm, folio, pte, 0, 0);
                }
            }

            if (flush)
            {
                mm.FlushTlbRange(first, end);
            }

            hold.Release();
            mm.Notifiers.InvalidateRangeEnd();
        }
    }

    private static bool Maps(Pte pte, long pfn) =>
        (pte.Kind == PteKind.Present || pte.Kind == PteKind.DevicePrivate) && pte.Pfn == pfn;

    /// <summary>What replacing a mapping of <paramref name="folio"/> by a migration entry leaves to do: the flush of a present PMD (<paramref name="start"/> to <paramref name="end"/>), the dirty bit, the mapping and its reference.</summary>
    private static void Unmapped(AddressSpace mm, Folio folio, Pte old, ulong start, ulong end)
    {
        if (old.Kind == PteKind.Present && end > start)
        {
            mm.FlushTlbRange(start, end);
        }

        if (old.Dirty)
        {
            folio.MarkDirty();
        }

        folio.RemoveMap();
        folio.Put();
    }

    /// <summary>
    /// The PTE table (its lock held in <paramref name="hold"/>) whose PMD entry maps the large
    /// <paramref name="folio"/> whole at <paramref name="address"/> — with a migration entry if
    /// <paramref name="migration"/>, else a present or device-private one — or null when no PMD does
    /// (an order-0 folio never has one).
    /// </summary>
    private static PteTable? HugeMapping(AddressSpace mm, ref PtlHold hold, Folio folio, ulong address, Vma vma, bool migration)
    {
        if (folio.Order == 0 || address < vma.Start || hold.Enter(mm.PageTable, address) is not { } table)
        {
            return null;
        }

        var pmd = table.GetPmd();
        return (migration ? pmd.Kind == PteKind.Migration && pmd.Pfn == folio.Pfn : Maps(pmd, folio.Pfn)) ? table : null;
    }

    /// <summary>
    /// <c>remove_migration_ptes(src, dst)</c>: every migration entry for <paramref name="src"/> becomes a
    /// mapping of <paramref name="dst"/> with the same write permission — a device-private entry if
    /// <paramref name="dst"/> is device-private memory, a present PTE otherwise — which takes a
    /// reference and a mapcount on <paramref name="dst"/>. The caller holds both folios locked.
    /// </summary>
    public static void RemoveMigrationPtes(Folio src, Folio dst)
    {
        var hold = default(PtlHold);
        RemoveMigrationPtes(src, dst, ref hold, giveReference: false);
        hold.Release();
    }

    /// <summary>
    /// <see cref="RemoveMigrationPtes(Folio, Folio)"/> for one page of a batch: the PTE table lock
    /// stays in <paramref name="hold"/> for the next page, which is usually in the same table. With
    /// <paramref name="giveReference"/>, the caller's own reference on <paramref name="dst"/> becomes
    /// the first mapping's instead of a new one being taken; returns whether it was given. The caller
    /// must then be done with <paramref name="dst"/> (unlocked it) before <paramref name="hold"/>
    /// lets the PTE lock go: from then on a zap may drop that mapping and free the folio.
    /// A <paramref name="dst"/> other than <paramref name="src"/> must be a folio the caller just
    /// allocated and holds locked, mapped nowhere: its first mapping is counted with a plain store
    /// (<see cref="Folio.AddFirstMap"/>), the rest atomically, since once the PTL of the first is let
    /// go a fork may copy it. A large <paramref name="src"/> migrated whole maps <paramref name="dst"/>
    /// (of the same order) where it was mapped: with one PMD entry where a migration PMD is, page by
    /// page where migration PTEs are.
    /// </summary>
    public static bool RemoveMigrationPtes(Folio src, Folio dst, ref PtlHold hold, bool giveReference)
    {
        var given = false;
        var first = true;
        foreach (var (vma, address) in Rmap.Mappings(src))
        {
            var mm = vma.Mm;
            if (HugeMapping(mm, ref hold, src, address, vma, migration: true) is { } table)
            {
                if (dst.Order != src.Order)
                {
                    VmBug.OnFolio("RemoveMigrationPtes", dst.Pfn, $"has order {dst.Order}, not the order {src.Order} of the THP it replaces.");
                }

                var pmd = table.GetPmd();
                Mapped(dst, src, ref given, ref first, giveReference);
                table.SetPmd(Entry(dst, dst.Pfn, pmd.Write));
                continue;
            }

            var end = Math.Min(vma.End, address + ((ulong)src.NrPages << mm.PageShift));
            for (var a = Math.Max(vma.Start, address); a < end; a += (ulong)mm.PageSize)
            {
                if (hold.Enter(mm.PageTable, a) is not { } pt)
                {
                    continue;
                }

                var idx = mm.PageTable.PteIndex(a);
                var pte = pt.Get(idx);
                var offset = (long)((a - address) >> mm.PageShift);
                if (pte.Kind != PteKind.Migration || pte.Pfn != src.Pfn + offset)
                {
                    continue;
                }

                Mapped(dst, src, ref given, ref first, giveReference);
                pt.Set(idx, Entry(dst, dst.Pfn + offset, pte.Write));
            }
        }

        return given;
    }

    /// <summary>The reference and mapcount a new mapping of <paramref name="dst"/> holds (see <see cref="RemoveMigrationPtes(Folio, Folio, ref PtlHold, bool)"/>).</summary>
    private static void Mapped(Folio dst, Folio src, ref bool given, ref bool first, bool giveReference)
    {
        if (giveReference && !given)
        {
            given = true;
        }
        else
        {
            dst.Get();
        }

        if (dst != src && first)
        {
            dst.AddFirstMap();
        }
        else
        {
            dst.AddMap();
        }

        first = false;
    }

    /// <summary>The entry mapping frame <paramref name="pfn"/> of <paramref name="dst"/>: device-private for device-private memory, present otherwise.</summary>
    private static Pte Entry(Folio dst, long pfn, bool write) => dst.Kind == PageKind.DevicePrivate
        ? Pte.DevicePrivate(pfn, write)
        : Pte.Present(pfn, write, dirty: write);

    /// <summary>
    /// Splits every migration PMD of the locked, unmapped THP <paramref name="folio"/> into 512
    /// migration PTEs, so that its pages can become folios of their own (a compound migration
    /// falling back to small pages).
    /// </summary>
    public static void SplitMigrationPmds(Folio folio)
    {
        foreach (var (vma, address) in Rmap.Mappings(folio))
        {
            var hold = default(PtlHold);
            if (HugeMapping(vma.Mm, ref hold, folio, address, vma, migration: true) is { } table)
            {
                vma.Mm.SplitHugePmd(table, address);
            }

            hold.Release();
        }
    }

    /// <summary>
    /// <c>migration_entry_wait()</c>: a CPU fault (or <c>HmmRangeFault</c>) that found a migration
    /// entry at <paramref name="va"/> re-reads it under the PTE lock and, if it is still one, sleeps
    /// until the migration unlocks the folio; the caller then retries. No reference is taken (Linux
    /// 5.19's <c>migration_entry_wait_on_locked</c>, see <see cref="Folio.WaitUnlockedReleasing"/>):
    /// before it, every thread touching a page mid-migration pinned it and made the migration fail.
    /// </summary>
    public static void Wait(AddressSpace mm, ulong va)
    {
        mm.Kernel.Counters.Count(MmEvent.FaultMigrationWait);
        if (mm.PageTable.Find(va) is not { } table)
        {
            return;
        }

        table.Ptl.Acquire();
        var pte = table.GetPmd() is { Kind: not PteKind.None } pmd ? pmd : table.Get(mm.PageTable.PteIndex(va));
        if (pte.Kind != PteKind.Migration)
        {
            table.Ptl.Release();
            return;
        }

        mm.Memory.PfnToFolio(pte.Pfn).WaitUnlockedReleasing(table.Ptl);
    }
}
