using System.Diagnostics;
using Testbed.HostMm.Memory;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Migrate;

/// <summary>
/// The reclaim/compaction thread real systems run behind a driver's back (kcompactd,
/// <c>migrate_pages()</c>): it sweeps a range of an address space, trylocks each mapped anonymous
/// folio, holds it for <see cref="HoldTime"/> (isolation and copying take time), and moves it to a
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

    /// <summary>Starts sweeping <c>[start, end)</c> of <paramref name="mm"/>.</summary>
    public CompactionAdversary(AddressSpace mm, ulong start, ulong end, TimeSpan holdTime)
    {
        ArgumentNullException.ThrowIfNull(mm);
        _mm = mm;
        _start = start & ~mm.PageMask;
        _end = end;
        HoldTime = holdTime;
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
            for (var va = _start; va < _end && !_stop; va += (ulong)_mm.PageSize)
            {
                Compact(va);
            }
        }
    }

    private void Compact(ulong va)
    {
        var pte = _mm.GetPte(va);
        if (pte.Kind != PteKind.Present)
        {
            return;
        }

        var folio = _mm.Memory.PfnToFolio(pte.Pfn);
        if (folio.IsZeroPage || folio.Kind != PageKind.System || !folio.TryGet())
        {
            return;
        }

        if (!folio.TryLock())
        {
            Interlocked.Increment(ref _busy);
            folio.Put();
            return;
        }

        Interlocked.Increment(ref _locked);
        var held = Stopwatch.StartNew();
        while (held.Elapsed < HoldTime)
        {
            Thread.SpinWait(20);
        }

        if (folio.IsAnon)
        {
            Migrate(folio);
        }

        folio.Unlock();
        folio.Put();
    }

    /// <summary><c>migrate_folio()</c> of a locked, referenced folio to a fresh frame.</summary>
    private void Migrate(Folio folio)
    {
        MigrationEntries.TryToMigrate(folio);
        var target = folio.MapCount == 0 && folio.RefCount == 1 ? _mm.Memory.AllocFolio(zero: false) : null;
        if (target is null)
        {
            MigrationEntries.RemoveMigrationPtes(folio, folio);
            return;
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
        Interlocked.Increment(ref _migrated);
    }
}
