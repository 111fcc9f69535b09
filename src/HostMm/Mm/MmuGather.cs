using Testbed.HostMm.Memory;

namespace Testbed.HostMm.Mm;

/// <summary>
/// <c>struct mmu_gather</c> (include/asm-generic/tlb.h): collects what a zap removed so that the TLB
/// is flushed once for the whole range, and only then are the folios released. Freeing a frame
/// before the flush would let a CPU that still holds the old translation write into a frame that
/// has been handed to someone else: the lost update this model exists to rule out.
/// </summary>
internal sealed class MmuGather(AddressSpace mm)
{
    private readonly List<Folio> _folios = [];
    private bool _needFlush;
    private ulong _start = ulong.MaxValue;
    private ulong _end;

    /// <summary>Records that a present entry mapping <paramref name="pages"/> pages at <paramref name="va"/> (a PTE, or a huge PMD) was cleared, and the mapping reference to drop, if any.</summary>
    public void RemovedPresent(ulong va, Folio? mappingReference, int pages = 1)
    {
        _needFlush = true;
        _start = Math.Min(_start, va);
        _end = Math.Max(_end, va + ((ulong)pages * (ulong)mm.PageSize));
        if (mappingReference is not null)
        {
            _folios.Add(mappingReference);
        }
    }

    /// <summary>Records the mapping reference of a cleared non-present entry (device-private): released after the flush, but needs none itself.</summary>
    public void Removed(Folio mappingReference) => _folios.Add(mappingReference);

    /// <summary><c>tlb_finish_mmu()</c>: flush if anything present was removed, then release the folios.</summary>
    public void Finish()
    {
        if (_needFlush)
        {
            mm.FlushTlbRange(_start, _end);
        }

        var puts = default(FolioBatch);
        foreach (var folio in _folios)
        {
            puts.Put(folio);
        }

        puts.Release();
        _folios.Clear();
        _needFlush = false;
        _start = ulong.MaxValue;
        _end = 0;
    }
}
