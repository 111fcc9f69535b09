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
/// caller's own, and every path that waits for a folio to be freed waits on the refcount. The
/// references to drop fill the slots from the front; folios whose last reference
/// <see cref="UnlockPut"/> already dropped, to be freed only, fill them from the back, so that a
/// reference is never taken for dropped because a count reads zero.
/// </remarks>
internal struct FolioBatch
{
    /// <summary>Folios per batch: the kernel's <c>PAGEVEC_SIZE</c>.</summary>
    public const int Capacity = 31;

    private Slots _slots;
    private int _count;
    private int _freed;

    /// <summary>Adds a reference to drop; a full batch is released at once.</summary>
    public void Put(Folio folio)
    {
        _slots[_count++] = folio;
        ReleaseIfFull();
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
            Put(folio);
            return;
        }

        _slots[Capacity - ++_freed] = folio;
        ReleaseIfFull();
    }

    /// <summary>
    /// <c>folios_put()</c>: drops every reference gathered; device folios whose last reference went
    /// go to their driver one by one, system folios back to the buddy allocator together, with those
    /// <see cref="UnlockPut"/> froze.
    /// </summary>
    public void Release()
    {
        Span<Folio?> slots = _slots;
        var free = 0;
        for (var i = 0; i < _count; i++)
        {
            var folio = slots[i]!;
            slots[i] = null;
            if (!folio.PutTestZero())
            {
                continue;
            }

            if (folio.Pgmap is { } pgmap)
            {
                pgmap.Release(folio);
            }
            else
            {
                slots[free++] = folio;
            }
        }

        // The frozen folios move down next to the others (free <= _count <= Capacity - _freed).
        for (var i = Capacity - _freed; i < Capacity; i++)
        {
            var folio = slots[i];
            slots[i] = null;
            slots[free++] = folio;
        }

        if (free > 0)
        {
            slots[0]!.Memory.Free(slots[..free]!);
            slots[..free].Clear();
        }

        (_count, _freed) = (0, 0);
    }

    private void ReleaseIfFull()
    {
        if (_count + _freed == Capacity)
        {
            Release();
        }
    }

    [InlineArray(Capacity)]
    private struct Slots
    {
        private Folio? _element;
    }
}
