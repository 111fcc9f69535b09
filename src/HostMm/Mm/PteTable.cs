using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The last level of the page table: 512 entries and their own split page-table lock
/// (<c>USE_SPLIT_PTE_PTLOCKS</c>), so faults on different 2 MiB regions never contend. Entries are
/// changed only under <see cref="Ptl"/>; the software walker reads them without it.
/// </summary>
internal sealed class PteTable
{
    public const int Entries = 512;

    private readonly ulong[] _entries = new ulong[Entries];

    public PteTable(SyncDomain sync) => Ptl = new MmLock(sync, LockClasses.PageTableLock);

    /// <summary>The split page-table lock.</summary>
    public MmLock Ptl { get; }

    /// <summary>Lock-free read (the hardware walker's view, <c>ptep_get()</c>).</summary>
    public Pte Get(int index) => Pte.FromRaw(Volatile.Read(ref _entries[index]));

    /// <summary><c>set_pte_at()</c>; the caller holds <see cref="Ptl"/>.</summary>
    public void Set(int index, Pte pte) => Volatile.Write(ref _entries[index], pte.Raw);

    /// <summary>
    /// Sets the accessed (and dirty) bits as the hardware walker does, without the lock; fails if
    /// the entry changed since <paramref name="expected"/> was read.
    /// </summary>
    public bool TryUpdateAccess(int index, Pte expected, Pte updated) =>
        Interlocked.CompareExchange(ref _entries[index], updated.Raw, expected.Raw) == expected.Raw;
}
