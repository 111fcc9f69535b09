using Testbed.HostMm.Diagnostics;
using Testbed.HostMm.Locking;
using Testbed.HostMm.Mm;

namespace Testbed.HostMm.Memory;

/// <summary>
/// The deferred split queue (mm/huge_memory.c: <c>deferred_split_folio()</c> and the shrinker's
/// <c>deferred_split_scan()</c>): a large folio that loses some of its mappings but not all — a
/// partial munmap or <c>MADV_DONTNEED</c> of a split THP — is queued here, its unmapped pages still
/// allocated. A scan, run when an allocation finds no free page (as reclaim runs the shrinker) or on
/// demand (<see cref="HostKernel.ShrinkDeferredSplit"/>), splits each queued folio that is still
/// mapped, so the pages nothing maps any more go back to the allocator. The queue holds no reference:
/// a folio freed (or reused) since it was queued is recognised and skipped.
/// </summary>
internal sealed class DeferredSplitQueue(SyncDomain sync, MmCounters counters)
{
    private readonly MmLock _lock = new(sync, LockClasses.DeferredSplitQueue);
    private readonly List<Folio> _folios = [];

    /// <summary><c>deferred_split_folio()</c>: queues <paramref name="folio"/> unless it is queued already. The caller holds the PTL of the mapping it removed.</summary>
    public void Add(Folio folio)
    {
        if (!folio.TryMarkDeferredSplit())
        {
            return;
        }

        using (_lock.Enter())
        {
            _folios.Add(folio);
        }

        counters.Count(MmEvent.ThpDeferredSplitPage);
    }

    /// <summary>
    /// <c>deferred_split_scan()</c>: empties the queue, splitting every folio on it that is still
    /// large and mapped and that nobody else holds locked or referenced; returns how many frames that
    /// gave back. The caller holds no PTL and no folio lock a split could need.
    /// </summary>
    public long Scan(HostKernel kernel)
    {
        Folio[] queued;
        using (_lock.Enter())
        {
            queued = [.. _folios];
            _folios.Clear();
        }

        var before = kernel.Memory.FreeFrames;
        foreach (var folio in queued)
        {
            if (!folio.TryGet())
            {
                continue;
            }

            if (folio.ClearDeferredSplit() && folio.Order > 0 && folio.MapCount > 0 && folio.TryLock())
            {
                AddressSpace.SplitFolio(kernel, folio, extraRefs: 0);
                folio.Unlock();
            }

            folio.Put();
        }

        return kernel.Memory.FreeFrames - before;
    }
}
