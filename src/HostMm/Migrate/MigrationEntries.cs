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
    /// <c>try_to_migrate()</c>: for every PTE that maps <paramref name="folio"/> (present or
    /// device-private) fires a <see cref="MmuNotifierEvent.Clear"/> invalidation, installs a migration
    /// entry keeping the write permission, flushes the TLB if the PTE was present, drops the mapping
    /// and its reference. The caller holds the folio lock and a reference.
    /// </summary>
    public static void TryToMigrate(Folio folio)
    {
        foreach (var (vma, address) in Rmap.Mappings(folio))
        {
            var mm = vma.Mm;
            if (mm.PageTable.Find(address) is not { } table)
            {
                continue;
            }

            var idx = mm.PageTable.PteIndex(address);
            if (!Maps(table.Get(idx), folio))
            {
                continue;
            }

            var range = new MmuNotifierRange(mm, address, address + (ulong)mm.PageSize, MmuNotifierEvent.Clear);
            mm.Notifiers.InvalidateRangeStart(range);
            using (table.Ptl.Enter())
            {
                var pte = table.Get(idx);
                if (Maps(pte, folio))
                {
                    table.Set(idx, Pte.Migration(pte.Pfn, pte.Write));
                    if (pte.Kind == PteKind.Present)
                    {
                        mm.FlushTlbRange(address, address + (ulong)mm.PageSize);
                    }

                    if (pte.Dirty)
                    {
                        folio.MarkDirty();
                    }

                    folio.RemoveMap();
                    folio.Put();
                }
            }

            mm.Notifiers.InvalidateRangeEnd();
        }
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
    /// go a fork may copy it.
    /// </summary>
    public static bool RemoveMigrationPtes(Folio src, Folio dst, ref PtlHold hold, bool giveReference)
    {
        var given = false;
        var first = true;
        foreach (var (vma, address) in Rmap.Mappings(src))
        {
            var mm = vma.Mm;
            if (hold.Enter(mm.PageTable, address) is not { } table)
            {
                continue;
            }

            var idx = mm.PageTable.PteIndex(address);
            var pte = table.Get(idx);
            if (pte.Kind != PteKind.Migration || pte.Pfn != src.Pfn)
            {
                continue;
            }

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
            table.Set(idx, dst.Kind == PageKind.DevicePrivate
                ? Pte.DevicePrivate(dst.Pfn, pte.Write)
                : Pte.Present(dst.Pfn, pte.Write, dirty: pte.Write));
        }

        return given;
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
        var pte = table.Get(mm.PageTable.PteIndex(va));
        if (pte.Kind != PteKind.Migration)
        {
            table.Ptl.Release();
            return;
        }

        mm.Memory.PfnToFolio(pte.Pfn).WaitUnlockedReleasing(table.Ptl);
    }

    private static bool Maps(Pte pte, Folio folio) =>
        (pte.Kind == PteKind.Present || pte.Kind == PteKind.DevicePrivate) && pte.Pfn == folio.Pfn;
}
