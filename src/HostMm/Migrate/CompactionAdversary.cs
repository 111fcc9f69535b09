using System.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Migrate;

/// <summary>
/// The reclaim/compaction thread real systems run behind a driver's back (kcompactd,
/// <c>migrate_pages()</c>): it sweeps a range of an address space, trylocks each mapped anonymous
/// folio (a large one once, not once per page), holds it for <see cref="HoldTime"/> (isolation and copying take time), and moves it to a
/// new frame through the reverse map (<c>try_to_migrate</c>, copy, <c>remove_migration_ptes</c>),
/// giving up, as the kernel does, on folios that stay mapped or are referenced by someone else. It
/// is the adversary that made <c>MakeDeviceExclusive</c> with a trylock fail with -EBUSY (seed 000).
/// </summary>
public sealed class CompactionAdversary : IDisposable
{
    private readonly AddressSpace _mm;
    private readonly ulong _start;
    private readonly ulong _end;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _locked;
    private long _migrated;
    private long _busy;
    private ulong _current;
    private ulong _holding;
    private readonly Action _onLocked;

    /// <summary>Starts sweeping <c>[start, end)</c> of <paramref name="mm"/>.</summary>
    public CompactionAdversary(AddressSpace mm, ulong start, ulong end, TimeSpan holdTime)
    {
        ArgumentNullException.ThrowIfNull(mm);
        _mm = mm;
        _start = start & ~mm.PageMask;
        _end = end;
        HoldTime = holdTime;
        _onLocked = () =>
        {
            Volatile.Write(ref _holding, _current);
            Interlocked.Increment(ref _locked);
        };
        _thread = new Thread(Run) { IsBackground = true, Name = "compaction adversary" };
        _thread.Start();
    }

    /// <summary>How long each folio stays locked.</summary>
    public TimeSpan HoldTime { get; }

    /// <summary>Folios the adversary locked.</summary>
    public long Locked => Interlocked.Read(ref _locked);

    /// <summary>Folios it moved to a new frame.</summary>
    public long Migrated => Interlocked.Read(ref _migrated);

    /// <summary>Folios it found locked by someone else.</summary>
    public long Busy => Interlocked.Read(ref _busy);

    /// <summary>The address of the page whose folio the adversary holds locked right now; 0 between folios.</summary>
    public ulong Holding => Volatile.Read(ref _holding);

    /// <summary>Stops the sweep and waits for the thread.</summary>
    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }

    private void Run()
    {
        while (!_stop)
        {
            for (var va = _start; va < _end && !_stop; va = NextFolio(_mm, va))
            {
                Compact(va);
            }
        }
    }

    /// <summary>
    /// The address after the folio mapped at <paramref name="va"/>: a large folio is visited once,
    /// as compaction steps over a compound page's tail frames, not once per page (a THP would be
    /// locked and copied 512 times a sweep).
    /// </summary>
    internal static ulong NextFolio(AddressSpace mm, ulong va)
    {
        var page = (ulong)mm.PageSize;
        if (mm.GetPmd(va).Kind != PteKind.None)
        {
            return (va & ~(mm.PmdSize - 1)) + mm.PmdSize;
        }

        var pte = mm.GetPte(va);
        if (pte.Kind != PteKind.Present || pte.Pfn >= mm.Memory.TotalFrames)
        {
            return va + page;
        }

        var folio = mm.Memory.PfnToFolio(pte.Pfn);
        return va + ((ulong)Math.Max(1, folio.NrPages - (pte.Pfn - folio.Pfn)) * page);
    }

    private void Compact(ulong va)
    {
        _current = va;
        var result = CompactPage(_mm, va, HoldTime, _onLocked);
        Volatile.Write(ref _holding, 0);
        switch (result)
        {
            case CompactionResult.Busy:
                Interlocked.Increment(ref _busy);
                break;
            case CompactionResult.Moved:
                Interlocked.Increment(ref _migrated);
                break;
        }
    }

    /// <summary>
    /// One step of the sweep, on its own: if the page at <paramref name="va"/> is a mapped anonymous
    /// system folio, trylocks it, holds it for <paramref name="hold"/> and moves it to a new frame
    /// (<c>testbed explore</c> runs this on a thread it controls, with no hold).
    /// <paramref name="onLocked"/> runs as soon as the folio is locked, before the hold.
    /// </summary>
    public static CompactionResult CompactPage(AddressSpace mm, ulong va, TimeSpan hold, Action? onLocked = null)
    {
        ArgumentNullException.ThrowIfNull(mm);
        var pte = mm.GetPmd(va) is { Kind: not PteKind.None } pmd ? pmd : mm.GetPte(va);
        if (pte.Kind != PteKind.Present)
        {
            return CompactionResult.Skipped;
        }

        var folio = mm.Memory.PfnToFolio(pte.Pfn);
        if (folio.IsZeroPage || folio.Kind != PageKind.System || !folio.TryGet())
        {
            return CompactionResult.Skipped;
        }

        if (!folio.TryLock())
        {
            folio.Put();
            return CompactionResult.Busy;
        }

        onLocked?.Invoke();
        if (hold > TimeSpan.Zero)
        {
            var held = Stopwatch.StartNew();
            while (held.Elapsed < hold)
            {
                Thread.SpinWait(20);
            }
        }

        var moved = folio.IsAnon && Migrate(mm, folio);
        folio.Unlock();
        folio.Put();
        return moved ? CompactionResult.Moved : CompactionResult.Stayed;
    }

    /// <summary><c>migrate_folio()</c> of a locked, referenced folio to fresh frames of its order (a THP moves whole, its PMD or PTEs pointed at the copy); false when it stays.</summary>
    private static bool Migrate(AddressSpace mm, Folio folio)
    {
        MigrationEntries.TryToMigrate(folio);
        var target = folio.MapCount == 0 && folio.RefCount == 1 ? mm.Memory.AllocFolio(folio.Order, zero: false) : null;
        if (target is null)
        {
            MigrationEntries.RemoveMigrationPtes(folio, folio);
            return false;
        }

        folio.Bytes.CopyTo(target.Bytes);
        target.Mapping = folio.Mapping;
        target.Index = folio.Index;
        if (folio.Dirty)
        {
            target.MarkDirty();
        }

        target.Lock();
        MigrationEntries.RemoveMigrationPtes(folio, target);
        target.Unlock();
        target.Put();
        return true;
    }
}
