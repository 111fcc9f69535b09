using System.Runtime.CompilerServices;

namespace Testbed.HostMm.Memory;

/// <summary>
/// <c>struct folio_batch</c> (include/linux/pagevec.h) with <c>folios_put()</c> (mm/swap.c): references
/// to drop, gathered so that the folios they free go back to the buddy allocator under one hold of the
/// zone lock instead of one per folio. It lives on the caller's stack (a fixed array inline, nothing
/// allocated) and releases itself when full; the caller calls <see cref="Release"/> at the end.
/// </summary>
/// <remarks>
/// Holding a reference a little longer than <see cref="Folio.Put"/> would is harmless: it is the
/// caller's own, and every path that waits for a folio to be freed waits on the refcount.
/// </remarks>
internal struct FolioBatch
{
    /// <summary>Folios per batch: the kernel's <c>PAGEVEC_SIZE</c>.</summary>
    public const int Capacity = 31;

    private Slots _slots;
    private int _count;

    /// <summary>Adds a reference to drop; a full batch is released at once.</summary>
    public void Put(Folio folio)
    {
        _slots[_count++] = folio;
        if (_count == Capacity)
        {
            Release();
        }
    }

    /// <summary>
    /// <c>folio_unlock()</c>, then a reference to drop: when it is the last and nobody waits, both in
    /// one atomic operation (<see cref="Folio.TryUnlockFreeze"/>, whose conditions the caller meets),
    /// and the batch only frees the folio.
    /// </summary>
    public void UnlockPut(Folio folio)
    {
        if (!folio.TryUnlockFreeze())
        {
            folio.Unlock();
        }

        Put(folio);
    }

    /// <summary>
    /// <c>folios_put()</c>: drops every reference gathered; device folios whose last reference went
    /// go to their driver one by one, system folios back to the buddy allocator together.
    /// </summary>
    public void Release()
    {
        Span<Folio?> slots = _slots;
        var free = 0;
        for (var i = 0; i < _count; i++)
        {
            var folio = slots[i]!;
            slots[i] = null;
            // A folio whose count is zero was frozen by UnlockPut: its reference is gone already,
            // and nobody can take one. Any other holds the batch's reference.
            if (folio.RefCount != 0 && !folio.PutTestZero())
            {
                continue;
            }

            if (folio.Pgmap is { } pgmap)
            {
                pgmap.Ops.FolioFree(folio);
            }
            else
            {
                slots[free++] = folio;
            }
        }

        if (free > 0)
        {
            slots[0]!.Memory.Free(slots[..free]!);
            slots[..free].Clear();
        }

        _count = 0;
    }

    [InlineArray(Capacity)]
    private struct Slots
    {
        private Folio? _element;
    }
}
