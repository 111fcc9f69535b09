using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// A four-level radix page table (PGD → PUD → PMD → PTE table, 512 entries a level), walked
/// lock-free: upper levels are installed once with a compare-and-swap and never change, as
/// <c>__pte_alloc()</c> installs a table under the lock and the hardware walks without it.
/// </summary>
/// <remarks>
/// Emptied PTE tables are kept until the address space is torn down rather than freed by
/// <c>free_pgtables()</c> at munmap: freeing them would need an RCU-style grace period for
/// concurrent walkers and buys nothing a model needs.
/// </remarks>
internal sealed class PageTable
{
    private const int LevelBits = 9;
    private const int LevelMask = (1 << LevelBits) - 1;
    private readonly object?[] _pgd = new object?[1 << LevelBits];
    private readonly SyncDomain _sync;
    private readonly int _pageShift;

    public PageTable(SyncDomain sync, int pageShift)
    {
        _sync = sync;
        _pageShift = pageShift;
    }

    /// <summary><c>pmd_addr_end()</c>: the end of the PTE table covering <paramref name="va"/>, capped at <paramref name="end"/>.</summary>
    public ulong PmdAddrEnd(ulong va, ulong end)
    {
        var span = (ulong)PteTable.Entries << _pageShift;
        return Math.Min(end, (va & ~(span - 1)) + span);
    }

    /// <summary>Which PTE table's span <paramref name="va"/> falls in: equal for addresses sharing a PTE table.</summary>
    public ulong PmdIndex(ulong va) => va >> (_pageShift + LevelBits);

    /// <summary>The index of <paramref name="va"/>'s entry in its PTE table.</summary>
    public int PteIndex(ulong va) => (int)(va >> _pageShift) & LevelMask;

    /// <summary>The PTE table covering <paramref name="va"/>, or null if none was ever allocated.</summary>
    public PteTable? Find(ulong va)
    {
        var level = _pgd;
        for (var shift = _pageShift + (3 * LevelBits); shift > _pageShift; shift -= LevelBits)
        {
            var next = Volatile.Read(ref level[(int)(va >> shift) & LevelMask]);
            if (next is null)
            {
                return null;
            }

            if (next is PteTable table)
            {
                return table;
            }

            level = (object?[])next;
        }

        return null;
    }

    /// <summary>The PTE table covering <paramref name="va"/>, allocating the missing levels (<c>pte_alloc_map()</c>).</summary>
    public PteTable FindOrAlloc(ulong va)
    {
        var level = _pgd;
        for (var shift = _pageShift + (3 * LevelBits); ; shift -= LevelBits)
        {
            ref var slot = ref level[(int)(va >> shift) & LevelMask];
            var next = Volatile.Read(ref slot);
            if (next is null)
            {
                object fresh = shift == _pageShift + LevelBits ? new PteTable(_sync) : new object?[1 << LevelBits];
                next = Interlocked.CompareExchange(ref slot, fresh, null) ?? fresh;
            }

            if (next is PteTable table)
            {
                return table;
            }

            level = (object?[])next;
        }
    }
}
