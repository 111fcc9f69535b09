using Testbed.HostMm.Locking;

namespace Testbed.HostMm.Mm;

/// <summary>
/// The last level of the page table: 512 entries and their own split page-table lock
/// (<c>USE_SPLIT_PTE_PTLOCKS</c>), so faults on different 2 MiB regions never contend. Entries are
/// changed only under <see cref="Ptl"/>; the software walker reads them without it.
/// </summary>
/// <remarks>
/// The table also holds the PMD entry of its 2 MiB span (<see cref="GetPmd"/>). When that entry is
/// not none it maps the whole span (a transparent huge page, or a migration or device-private entry
/// for one) and the 512 PTEs are all empty: the table is then the one the kernel deposits with a
/// huge PMD (<c>pgtable_trans_huge_deposit()</c>) so that a split never has to allocate. The
/// table's lock is the PMD's lock too (<c>pmd_lock()</c>), which is the split PMD lock of a 2 MiB span.
/// </remarks>
internal sealed class PteTable
{
    public const int Entries = 512;

    /// <summary>The index <see cref="GetEntry"/> reads the PMD entry at.</summary>
    public const int PmdSlot = -1;

    private readonly ulong[] _entries = new ulong[Entries];
    private ulong _pmd;

    public PteTable(SyncDomain sync) => Ptl = new MmLock(sync, LockClasses.PageTableLock);

    /// <summary>The split page-table lock.</summary>
    public MmLock Ptl { get; }

    /// <summary>Lock-free read (the hardware walker's view, <c>ptep_get()</c>).</summary>
    public Pte Get(int index) => Pte.FromRaw(Volatile.Read(ref _entries[index]));

    /// <summary>Lock-free read of the span's PMD entry (<c>pmdp_get_lockless()</c>): none unless a huge entry maps the span.</summary>
    public Pte GetPmd() => Pte.FromRaw(Volatile.Read(ref _pmd));

    /// <summary>The PTE at <paramref name="index"/>, or the PMD entry for <see cref="PmdSlot"/>: for fault paths that serve both levels.</summary>
    public Pte GetEntry(int index) => index == PmdSlot ? GetPmd() : Get(index);

    /// <summary><c>set_pmd_at()</c>; the caller holds <see cref="Ptl"/>.</summary>
    public void SetPmd(Pte pmd) => Volatile.Write(ref _pmd, pmd.Raw);

    /// <summary>Whether every PTE is empty (<c>pmd_none()</c> for the span, where the kernel would have no table).</summary>
    public bool IsEmpty()
    {
        for (var i = 0; i < Entries; i++)
        {
            if (Volatile.Read(ref _entries[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>set_pte_at()</c>; the caller holds <see cref="Ptl"/>.</summary>
    public void Set(int index, Pte pte) => Volatile.Write(ref _entries[index], pte.Raw);

    /// <summary>
    /// Sets the accessed (and dirty) bits as the hardware walker does, without the lock, on the PTE at
    /// <paramref name="index"/> or the PMD entry (<see cref="PmdSlot"/>); fails if the entry changed
    /// since <paramref name="expected"/> was read.
    /// </summary>
    public bool TryUpdateAccess(int index, Pte expected, Pte updated) =>
        Interlocked.CompareExchange(ref index == PmdSlot ? ref _pmd : ref _entries[index], updated.Raw, expected.Raw) == expected.Raw;
}
